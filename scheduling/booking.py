"""Reception-day bookings in time: their outbox rows, quiet hours, rendering, and the tick.

:class:`BookingMailer` is the :class:`cases.reception.booking.Mailer` the booking service
writes with: one
``reminders`` row of kind ``notice`` per message (``dedup_key``: each message once), holding
facts not text; :func:`render_booking` turns it into text in the reader's language when the
outbox sends it, and :func:`booking_buttons` gives its buttons. :class:`BookingJobs` runs on
every scheduler tick: recurring sessions entering the window, waitlist offers that ran out
(passed on exactly once), the agencies' lists of a reception day's bookings (the working
afternoon before).
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cases.i18n import N_, format_date, translate
from cases.org.users import Role
from cases.reception.booking import BookingService, Outgoing, ReminderTime, Statement
from cases.store.time import LEGAL_TZ, from_db, to_db
from scheduling.policy import BOOKING_REMINDERS, Quiet, Unit, quiet_for, quiet_hours
from scheduling.timing import after_quiet_hours

log = logging.getLogger(__name__)

WHAT_TO_BRING = N_(
    "Please bring your ID card and the papers about the matter (decisions, letters, contracts, "
    "photos)."
)

BOOKING_TEXTS: dict[str, str] = {
    "agency_new": N_(
        "📅 New reception-day booking {number}\n{when}, {place}\nSubject: {subject}\n"
        "Request: {request}\nPeople coming: {people}"
    ),
    "agency_rescheduled": N_(
        "📅 Reception-day booking {number} was moved to {when}, {place}\nSubject: {subject}\n"
        "Request: {request}\nPeople coming: {people}"
    ),
    "agency_cancelled": N_(
        "❌ Reception-day booking {number} ({when}) was cancelled by the person who made it; "
        "the seat went to the waitlist.\nSubject: {subject}"
    ),
    "agency_released": N_(
        "✔ After your answer, the citizen released the seat of booking {number} ({when}): "
        "they will not come.\nSubject: {subject}"
    ),
    "agency_session_cancelled": N_(
        "❌ The reception session of {agency} on {when} was cancelled. The {count} people "
        "booked or waiting were told at once and offered the nearest open times."
    ),
    "agency_session_moved": N_(
        "📅 The reception session of {agency} was moved to {when}, {place}. The {count} people "
        "booked or waiting were told; their bookings follow the session."
    ),
    "offer": N_(
        "🔔 A seat is free at the reception day of {agency}: {when}, {place}.\nIt is held for "
        "you (waitlist {number}) until {until}. Take it?"
    ),
    "offer_expired": N_(
        "The seat offered to you ({number}) was not taken in time and has passed to the next "
        "person on the waitlist. You can book again with /book."
    ),
    "reminder_day": N_(
        "⏰ Reminder: your reception-day booking {number} at {agency} is tomorrow, {when}, "
        "{place}."
    ),
    "reminder_2h": N_(
        "⏰ Reminder: your reception at {agency} starts at {when}, {place} (booking {number})."
    ),
    "moved": N_(
        "The reception session of your booking {number} was moved by {agency}: it is now "
        "{when}, {place}. If the new time does not suit you, reschedule or cancel below."
    ),
    "session_cancelled": N_(
        "The reception session of {agency} on {when} was cancelled, and with it your booking "
        "{number}. We are sorry. The nearest open times are below: tap one to book it with "
        "the same matter."
    ),
    "answered": N_(
        "{agency} has answered the matter of your reception-day booking {number} ({when}) "
        "before the day:\n{note}\nIf this settles it, you can release your seat for someone "
        "else; or keep it and come as planned."
    ),
    "day_list": N_("📋 Reception-day bookings of {agency} on {day_on}, {place}:"),
    "outcome_settled": N_(
        "Your matter from reception-day booking {number} was recorded as settled on the spot."
        "\nNote: {note}"
    ),
    "outcome_petition": N_(
        "Your matter from reception-day booking {number} was registered as petition "
        "{case_number}, received on the reception day. The agency tells you in writing whether "
        "it is accepted (Regulations on Petition Work, Art. 23). Follow it with /mycases."
    ),
    "outcome_settled_proxy": N_(
        "The matter {name} raised at the reception day (booking {number}) was recorded as "
        "settled on the spot."
    ),
    "outcome_petition_proxy": N_(
        "The matter {name} raised at the reception day (booking {number}) was registered as "
        "petition {case_number}, received on the reception day. Please give {name} this "
        "number: the office tells them in writing whether it is accepted (Regulations on "
        "Petition Work, Art. 23). The case is theirs: its later messages do not come to this "
        "chat."
    ),
    "outcome_referred_reconsideration": N_(
        "At the reception day ({number}) your matter was found to belong to administrative "
        "reconsideration. To apply, send /reconsider."
    ),
    "outcome_referred_mediation": N_(
        "At the reception day ({number}) your matter was found suitable for administrative "
        "mediation. To ask for it, send /mediation."
    ),
}
URGENT = frozenset({"session_cancelled"})
"""Sent at once, also at night: the person may be on the way tomorrow morning."""
PROVISIONAL = N_(
    "This date is provisional: the official holiday calendar for that year is not published yet."
)
NO_BOOKINGS = N_("No bookings.")
PEOPLE_LINE = N_("{people} people")
BOOKED_BY_PROXY = N_("Booked by a community worker for {name}.")
BOOKED_BY_WORKER = N_("Booked by community worker {worker} for {name}.")
VISITOR = N_("Visitor: {name}.")
FOR_CITIZEN = N_("(For {name}, who was booked by you as community worker.)")


class BookingMailer:
    """Outbox rows for :mod:`cases.reception.booking`, with this deployment's quiet hours."""

    def __init__(self, tz: ZoneInfo = LEGAL_TZ) -> None:
        self.tz = tz

    def queue(self, message: Outgoing, now: datetime) -> list[Statement]:
        urgent = message.key in URGENT
        quiet = Quiet.NONE if urgent else Quiet.DEFER
        due = message.due_at or now
        if not urgent and message.audience is Role.citizen:
            due = after_quiet_hours(due, self.tz)
        payload = {
            "booking": message.key,
            # What a "could not deliver" notice to staff names (scheduling.outbox).
            "case_number": message.params.get("number"),
            "params": dict(message.params),
            "buttons": [list(b) for b in message.buttons],
        }
        stamp = to_db(now)
        return [
            (
                "INSERT INTO reminders(dedup_key, kind, rule_id, source_kind, source_id,"
                " case_id, step, audience, chat_id, locale, critical, quiet, payload, due_at,"
                " expires_at, created_at, updated_at)"
                " VALUES (?, 'notice', NULL, 'notice', ?, NULL, ?, ?, ?,"
                " coalesce((SELECT locale FROM users WHERE telegram_id = ?), 'zh'),"
                " ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(dedup_key) DO UPDATE SET status = 'pending',"
                " due_at = excluded.due_at, payload = excluded.payload,"
                " expires_at = excluded.expires_at,"
                " next_attempt_at = NULL, updated_at = excluded.updated_at"
                " WHERE reminders.status = 'cancelled'",
                (
                    message.dedup_key,
                    message.params.get("booking_id"),
                    "booking:" + message.key,
                    message.audience.value,
                    message.chat_id,
                    message.chat_id,
                    int(urgent),
                    quiet.value,
                    json.dumps(payload, ensure_ascii=False),
                    to_db(due),
                    to_db(message.expires_at) if message.expires_at else None,
                    stamp,
                    stamp,
                ),
            )
        ]

    def cancel(self, prefix: str, now: datetime) -> list[Statement]:
        return [
            (
                "UPDATE reminders SET status = 'cancelled', updated_at = ?"
                " WHERE status = 'pending' AND dedup_key >= ? AND dedup_key < ?",
                (to_db(now), prefix, prefix + "\uffff"),
            )
        ]

    def reminder_times(self, starts_at: datetime, now: datetime) -> list[ReminderTime]:
        """The reminder policy's steps before ``starts_at`` (scheduling.policy
        BOOKING_REMINDERS), moved out of the quiet hours as for every citizen; a step that
        would then fall at or after the time itself, or is already past, is left out."""
        found = []
        for step in BOOKING_REMINDERS.steps:
            if step.offset.unit is not Unit.HOURS:
                raise ValueError(f"a booking reminder counts hours, not {step.offset.unit}")
            due = starts_at + timedelta(hours=step.offset.amount)
            for role in step.audiences:
                if quiet_for(role) is not Quiet.NONE:
                    due = after_quiet_hours(due, self.tz)
            if now < due < starts_at:
                key = "reminder_day" if step.offset.amount <= -24 else "reminder_2h"
                found.append(ReminderTime(step.offset.label, key, due))
        return found

    def hold_until(self, now: datetime, hours: int) -> datetime:
        """The end of a hold of ``hours`` awake hours: the night (quiet hours) does not count,
        so an offer made in the evening is not lost while its person sleeps."""
        cursor = after_quiet_hours(now, self.tz)
        remaining = timedelta(hours=hours)
        for _ in range(100):
            local = cursor.astimezone(self.tz)
            night = datetime.combine(local.date(), quiet_hours().start, self.tz).astimezone(UTC)
            if cursor + remaining <= night:
                return cursor + remaining
            remaining -= night - cursor
            cursor = after_quiet_hours(night, self.tz)
        return cursor + remaining


# -- rendering ---------------------------------------------------------------------------------


def _when(value: str | None, locale: str, tz: ZoneInfo = LEGAL_TZ) -> str:
    if not value:
        return "—"
    moment = from_db(value).astimezone(tz)
    return f"{format_date(moment.date(), locale)} {moment.strftime('%H:%M')}"


def render_booking(locale: str, payload: Mapping[str, Any]) -> str:
    key = str(payload.get("booking"))
    template = BOOKING_TEXTS.get(key)
    params: dict[str, Any] = dict(payload.get("params") or {})
    if template is None:
        return translate(locale, N_("📣 Notice"))
    en = locale == "en"
    values = {
        "number": f"<code>{html.escape(str(params.get('number', '')))}</code>",
        "case_number": f"<code>{html.escape(str(params.get('case_number', '')))}</code>",
        "agency": html.escape(str(params.get("agency_en" if en else "agency_zh", ""))),
        "place": html.escape(str(params.get("place_en" if en else "place_zh", ""))),
        "when": _when(params.get("starts_at"), locale),
        "until": _when(params.get("until"), locale),
        "subject": html.escape(str(params.get("subject", ""))),
        "request": html.escape(str(params.get("request", ""))),
        "people": html.escape(str(params.get("people", ""))),
        "note": html.escape(str(params.get("note", ""))),
        "name": html.escape(str(params.get("person_name", ""))),
        "count": html.escape(str(params.get("count", ""))),
        "day_on": (
            format_date(date.fromisoformat(params["day_on"]), locale)
            if params.get("day_on")
            else ""
        ),
    }
    lines = [translate(locale, template).format(**values)]
    if key == "day_list":
        entries: Sequence[Mapping[str, Any]] = params.get("entries") or []
        for entry in entries:
            people = translate(locale, PEOPLE_LINE).format(people=entry.get("people", 1))
            lines.append(
                f"{entry.get('time')} · <code>{html.escape(str(entry.get('number')))}</code>"
                f" · {html.escape(str(entry.get('subject')))} · {people}"
                + (f" · {html.escape(str(entry['name']))}" if entry.get("name") else "")
            )
        if not entries:
            lines.append(translate(locale, NO_BOOKINGS))
    if key.startswith("agency_") and params.get("proxy"):
        worker = str(params.get("booked_by_name") or "")
        lines.append(
            translate(locale, BOOKED_BY_WORKER if worker else BOOKED_BY_PROXY).format(
                name=html.escape(str(params.get("person_name", ""))), worker=html.escape(worker)
            )
        )
    elif key.startswith("agency_") and params.get("person_name"):
        lines.append(
            translate(locale, VISITOR).format(name=html.escape(str(params["person_name"])))
        )
    if key.startswith("outcome_referred") and params.get("proxy"):
        lines.append(
            translate(locale, FOR_CITIZEN).format(
                name=html.escape(str(params.get("person_name", "")))
            )
        )
    if key in ("reminder_day", "offer", "moved"):
        lines.append(translate(locale, WHAT_TO_BRING))
    if params.get("provisional") and key not in ("day_list",):
        lines.append("<i>" + html.escape(translate(locale, PROVISIONAL)) + "</i>")
    return "\n".join(lines)


def booking_buttons(locale: str, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, callback data) pairs; a label "@slot:<ISO time>" is an alternative time."""
    found: list[tuple[str, str]] = []
    for label, data in payload.get("buttons") or []:
        if str(label).startswith("@slot:"):
            moment = datetime.fromisoformat(str(label)[6:])
            text = f"{format_date(moment.date(), locale)} {moment.strftime('%H:%M')}"
        else:
            text = translate(locale, str(label))
        found.append((text, str(data)))
    return found


# -- the tick --------------------------------------------------------------------------------


class BookingJobs:
    """What the scheduler runs for bookings on every tick; each step is idempotent."""

    def __init__(self, service: BookingService) -> None:
        self.service = service

    async def tick(self) -> None:
        for step in (
            self.service.ensure_sessions,
            self.service.close_past_days,
            self.service.expire_offers,
            self.service.queue_day_lists,
        ):
            try:
                await step()
            except Exception:
                log.exception("booking step %s failed", step.__name__)
