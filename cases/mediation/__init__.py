"""The mediation itself, once a room has the case: the other party, sessions, outcome."""
