"""局长接待日: reception sessions, bookings, the waitlist and the roster."""
