"""Documents as PDF: the 案卷 for case-file review and the documents generated from a case."""
