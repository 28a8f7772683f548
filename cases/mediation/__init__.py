"""行政调解: mediators, their profiles and the assignment of cases to them (issue #10)."""
