"""行政调解: mediators, their profiles and the assignment of cases to them; the mediation
itself once a mediator has the case (the other party, sessions, outcome; issue #10)."""
