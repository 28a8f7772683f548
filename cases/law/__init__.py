"""The law as data: the legal calendar, the deadline rules and how they are cited."""
