"""局长接待日 (XF 18(2)): reception sessions, bookings, the waitlist and the roster.

One service, :class:`cases.reception.booking.BookingService`, made of one module per concern:
``model`` (statuses, transitions, settings, values), ``base`` (what the parts share: clock,
window, outbox messages), ``sessions``, ``seats`` (seats and the waitlist) and ``roster`` (the
day, outcomes, totals). Import from ``cases.reception.booking``.
"""
