"""The rate-limited sender: the only module of ``scheduling/`` that talks to aiogram.

Every proactive message (reminders, staff notices, digests, the monthly report's chart,
figures and workbook) goes through one
:class:`RateLimiter`: ≤ 25 messages/s overall, ≥ 1 s between two messages to one chat, ≤ 20 a
minute to one group, and a global pause after any 429 (engineering.md §4: Telegram's limits are
~30/s, ~1/s per chat, 20/min per group; one "flood-wait until" for everyone). Replies inside
handlers go direct; the limits target bulk sends.

Telegram's errors become the outbox's: 429 → :class:`RetryLater`; 403/400/404 →
:class:`Undeliverable`; a connection that was never made → :class:`NotSent`; a timeout, a
dropped connection or a 5xx → :class:`DeliveryUnknown` (the message may have arrived).
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Protocol

import aiohttp
from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message

from cases.documents.generated import DOCUMENT_LABELS, DocumentKind
from cases.i18n import N_, format_date, translate
from cases.org.users import Role
from cases.procedures.followup import closure_offers
from cases.procedures.transitions import Notice
from cases.store.time import LEGAL_TZ, from_db
from handlers.callbacks import (
    CaseAction,
    CaseFollowUp,
    DocumentRequest,
    OpinionFiles,
    ReminderAck,
)
from scheduling.assignment import assignment_buttons, render_assignment
from scheduling.booking import booking_buttons, render_booking
from scheduling.mediation import mediation_buttons, render_mediation
from scheduling.monthly_report import Part, is_report_row, render_part
from scheduling.notices import render_case_notice
from scheduling.outbox import (
    DeliveryUnknown,
    NotSent,
    OutboxRow,
    RetryLater,
    Undeliverable,
)
from scheduling.policy import Kind

log = logging.getLogger(__name__)


def _closure_offers(row: OutboxRow) -> tuple[list[InlineKeyboardButton], str | None]:
    """What a citizen's closure notice offers next (cases.procedures.followup.closure_offers)."""
    if row.kind is not Kind.NOTICE or row.audience is not Role.citizen or row.case_id is None:
        return [], None
    offers, extra = closure_offers(str(row.payload.get("notice", "")))
    buttons = [
        InlineKeyboardButton(
            text=_t(row.locale, offer.label),
            callback_data=CaseFollowUp(action=offer.action, case_id=row.case_id).pack(),
        )
        for offer in offers
    ]
    return buttons, extra


def open_case_data(case_id: int) -> str:
    """The "open case" button: the callback format the case handlers read."""
    return CaseAction(action="view", case_id=case_id).pack()


# --- limits -------------------------------------------------------------------------------


class SendLimiter(Protocol):
    """What the sender needs of a rate limiter: this process's :class:`RateLimiter`, or the
    budget shared by every replica (:class:`scheduling.shared_limiter.SharedRateLimiter`)."""

    async def acquire(self, chat_id: int) -> None: ...

    def pause(self, seconds: float) -> None: ...


class RateLimiter:
    """Reserves a send slot per message; concurrent senders each get their own slot.

    The global limit is a grid of slots ``1/per_second`` apart, each used at most once, so a
    message held back by its own chat's spacing (or a group's budget) does not hold up
    messages to other chats: they take the free slots before it. Time is injectable
    (``monotonic``, ``sleep``) so tests move it by hand.
    """

    def __init__(
        self,
        *,
        per_second: float = 25.0,
        per_chat_interval: float = 1.0,
        per_group_per_minute: int = 20,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.spacing = 1.0 / per_second
        self.per_chat_interval = per_chat_interval
        self.per_group_per_minute = per_group_per_minute
        self._monotonic = monotonic
        self._sleep = sleep
        self._used_slots: set[int] = set()
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}
        self._acquired = 0

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def pause(self, seconds: float) -> None:
        """After a 429 nobody sends until ``retry_after`` has passed."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    def reserve(self, chat_id: int) -> float:
        """The earliest slot that satisfies every limit; recorded before anyone awaits."""
        now = self._monotonic()
        at = max(now, self._paused_until, self._chat_next.get(chat_id, 0.0))
        if chat_id < 0:  # groups and channels have negative ids
            window = self._group_sends.setdefault(chat_id, deque())
            while window and window[0] <= at - 60.0:
                window.popleft()
            if len(window) >= self.per_group_per_minute:
                at = max(at, window[-self.per_group_per_minute] + 60.0)
        slot = math.ceil(at / self.spacing - 1e-9)
        while slot in self._used_slots:
            slot += 1
        self._used_slots.add(slot)
        at = slot * self.spacing
        if chat_id < 0:
            self._group_sends[chat_id].append(at)
        self._chat_next[chat_id] = at + self.per_chat_interval
        self._acquired += 1
        if self._acquired % 1000 == 0:
            self._forget_old(now)
        return at

    def _forget_old(self, now: float) -> None:
        """Keeps memory flat when reminders go to tens of thousands of chats."""
        oldest = math.floor(now / self.spacing) - 1
        self._used_slots = {s for s in self._used_slots if s >= oldest}
        self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        self._group_sends = {g: w for g, w in self._group_sends.items() if w and w[-1] > now - 60}

    async def acquire(self, chat_id: int) -> None:
        while True:
            at = self.reserve(chat_id)
            delay = at - self._monotonic()
            if delay > 0:
                await self._sleep(delay)
            if self._monotonic() >= self._paused_until:
                return
            # A 429 arrived while we waited: queue up again behind the pause.


# --- texts --------------------------------------------------------------------------------

_ROLE_NAMES = {
    Role.citizen: N_("applicant"),
    Role.mediator: N_("mediator"),
    Role.office_staff: N_("office staff"),
    Role.agency_liaison: N_("agency liaison"),
    Role.agency_head: N_("agency head"),
    Role.admin: N_("administrator"),
}

_HEADINGS = {
    Kind.REMINDER: N_("⏰ Reminder"),
    Kind.CHASE: N_("❗ Chase-up (催办)"),
    Kind.OVERDUE: N_("⚠️ Overdue"),
    Kind.ESCALATION: N_("⬆️ Escalation: not acknowledged"),
}

_NOTICES = {
    "blocked": N_(
        "Delivery failed: a reminder about {case} could not be delivered to the {role} (the "
        "bot is blocked or the chat is unavailable). Please reach them another way: by "
        "telephone, by post or in person."
    ),
    "failed": N_(
        "Delivery failed: a reminder about {case} could not be sent to the {role} after "
        "repeated attempts. Please reach them another way: by telephone, by post or in person."
    ),
    "unknown": N_(
        "Delivery uncertain: a reminder about {case} to the {role} may or may not have arrived "
        "(the connection broke while it was being sent). It is not resent automatically; "
        "please check with them."
    ),
}


CALENDAR_MISSING = N_(
    "The official holiday calendar for {years} is not in the system yet. Deadlines falling in "
    "that year are counted on Monday to Friday only and are marked provisional. Please add the "
    "State Council's holiday schedule to the calendar overrides file and restart the bot; the "
    "open deadlines are then recalculated and the people concerned are told."
)


def _t(locale: str, msgid: str) -> str:
    return translate(locale, msgid)


def _case_label(row: OutboxRow, locale: str) -> str:
    number = row.payload.get("case_number")
    if number:
        return _t(locale, N_("case {number}")).format(number=f"<code>{html.escape(number)}</code>")
    court_number = row.payload.get("court_case_number")
    if court_number:
        return _t(locale, N_("court case {number}")).format(
            number=f"<code>{html.escape(court_number)}</code>"
        )
    return _t(locale, N_("a case"))


def _time(moment: datetime) -> str:
    return moment.astimezone(LEGAL_TZ).strftime("%H:%M")


def render_text(row: OutboxRow) -> str:
    """The message in the recipient's language: what is due, by when, on which legal basis,
    and what happens if it is missed (DESIGN.md voice: dates with the weekday, plain basis,
    case numbers in monospace)."""
    loc = row.locale
    p = row.payload
    if row.kind is Kind.DIGEST:
        return str(p.get("text", ""))
    if row.kind is Kind.NOTICE and p.get("booking"):
        return render_booking(loc, p)  # a reception-day booking (scheduling.booking)
    if p.get("mediation"):
        # The mediation itself (scheduling.mediation): sessions, the other party, outcome.
        return render_mediation(loc, p, citizen=row.audience is Role.citizen)
    if row.kind is Kind.NOTICE and p.get("assignment"):
        return render_assignment(loc, p)  # a mediation offer (scheduling.assignment)
    if row.kind is Kind.NOTICE and p.get("notice"):
        # A notice about a case event (scheduling.notices), rendered now in today's language.
        text = render_case_notice(loc, p, citizen=row.audience is Role.citizen)
        _buttons, extra = _closure_offers(row)
        return text + "\n\n" + html.escape(_t(loc, extra)) if extra else text
    if row.kind is Kind.NOTICE and p.get("problem") == "calendar_missing":
        return _t(loc, CALENDAR_MISSING).format(years=html.escape(str(p.get("years", ""))))
    if row.kind is Kind.NOTICE:
        template = _NOTICES.get(str(p.get("problem")), _NOTICES["unknown"])
        text = _t(loc, template).format(
            case=_case_label(row, loc),
            role=_t(loc, _ROLE_NAMES.get(Role(p.get("recipient_role", "admin")), "")),
        )
        if p.get("title"):
            text += "\n" + _t(loc, N_("About: {what}")).format(
                what=html.escape(_t(loc, p["title"]))
            )
        return text
    lines = [f"<b>{html.escape(_t(loc, _HEADINGS[row.kind]))}</b> · {_case_label(row, loc)}"]
    if row.kind is Kind.ESCALATION:
        sent_at = p.get("original_sent_at")
        lines.append(
            _t(
                loc,
                N_("The {role} has not confirmed receipt of this reminder sent on {when}."),
            ).format(
                role=_t(loc, _ROLE_NAMES[Role(p.get("escalated_from_role", "agency_liaison"))]),
                when=_when(from_db(sent_at), loc) if sent_at else "—",
            )
        )
    if p.get("title"):
        lines.append(
            _t(loc, N_("What is due: {what}")).format(what=html.escape(_t(loc, p["title"])))
        )
    if p.get("act_title"):
        lines.append(
            _t(loc, N_("Act challenged: {act}")).format(act=html.escape(str(p["act_title"])))
        )
    if p.get("subject"):
        lines.append(_t(loc, N_("Matter: {subject}")).format(subject=html.escape(p["subject"])))
    if p.get("applicant"):
        lines.append(
            _t(loc, N_("Applicant: {name}")).format(name=html.escape(str(p["applicant"])))
        )
    contact = p.get("office_contact_en" if loc == "en" else "office_contact_zh")
    if contact and row.audience in (Role.agency_liaison, Role.agency_head):
        lines.append(_t(loc, N_("Contact: {office}")).format(office=html.escape(str(contact))))
    due_on = date.fromisoformat(p["due_on"]) if p.get("due_on") else None
    if p.get("starts_at"):
        starts_at = from_db(p["starts_at"])
        lines.append(
            _t(loc, N_("Hearing: {when}, {court}")).format(
                when=_when(starts_at, loc), court=html.escape(str(p.get("court", "")))
            )
        )
        if p.get("head_required") or p.get("major"):
            lines.append(
                _t(loc, N_("This is a major case: the agency head is expected to appear."))
            )
    elif due_on is not None:
        if row.kind in (Kind.CHASE, Kind.OVERDUE):
            lines.append(
                _t(loc, N_("The deadline was {date}; nothing has been recorded yet.")).format(
                    date=format_date(due_on, loc)
                )
            )
        else:
            lines.append(
                _t(loc, N_("By: {date}, end of the day")).format(date=format_date(due_on, loc))
            )
            if row.step.startswith("0"):
                lines.append(_t(loc, N_("Today is the last day.")))
    basis = p.get("basis_en") if loc == "en" else p.get("basis_zh")
    if basis:
        lines.append(_t(loc, N_("Legal basis: {basis}")).format(basis=html.escape(basis)))
    if p.get("effect"):
        lines.append(
            _t(loc, N_("If missed: {effect}")).format(effect=html.escape(_t(loc, p["effect"])))
        )
    if p.get("provisional"):
        lines.append(
            _t(
                loc,
                N_(
                    "This date is provisional: the holiday calendar for that year is not yet "
                    "published, and the date may change."
                ),
            )
        )
    if row.wants_acknowledgement:
        lines.append(_t(loc, N_("Please confirm with the button below that you received this.")))
    return "\n".join(lines)


def _when(moment: datetime, locale: str) -> str:
    return f"{format_date(moment.astimezone(LEGAL_TZ).date(), locale)} {_time(moment)}"


NOTICE_DOCUMENTS: dict[str, DocumentKind] = {
    Notice.accepted: DocumentKind.acceptance,
    Notice.accepted_after_review: DocumentKind.acceptance,
    Notice.correction_requested: DocumentKind.correction,
    Notice.refused: DocumentKind.refusal,
    Notice.mediation_agreed: DocumentKind.agreement,
}
"""Notices whose written document (FY 30, 31; the mediation agreement) comes with them as a
PDF button."""

AGENCY_OPENS = frozenset({"F10", "X3", "X4"})
"""Rules whose reminders open the case for agency staff: the respondent's extract (F10), the
petition assigned to the agency (X3, X4; handlers/petition_agency/)."""


def render_markup(row: OutboxRow, *, acknowledged: bool = False) -> InlineKeyboardMarkup | None:
    buttons: list[InlineKeyboardButton] = []
    # Agency staff open no staff case page: only the reply period's reminders (F10) carry the
    # button, which opens the respondent's extract with "submit reply" (FY 48); any other
    # would only say "not available".
    agency = row.audience in (Role.agency_liaison, Role.agency_head)
    if (
        row.case_id is not None
        and row.kind is not Kind.DIGEST
        and (not agency or row.rule_id in AGENCY_OPENS)
        # Mediation messages open the mediation page with their own button: the other
        # party may not open the applicant's case.
        and not row.payload.get("mediation")
    ):
        buttons.append(
            InlineKeyboardButton(
                text=_t(row.locale, N_("Open case")), callback_data=open_case_data(row.case_id)
            )
        )
    if row.wants_acknowledgement:
        label = N_("✅ Received") if acknowledged else N_("Received")
        buttons.append(
            InlineKeyboardButton(
                text=_t(row.locale, label),
                callback_data=ReminderAck(reminder_id=row.id).pack(),
            )
        )
    offers, _extra = _closure_offers(row)
    rows = [[offer] for offer in offers]
    document = NOTICE_DOCUMENTS.get(str(row.payload.get("notice")))
    if row.kind is Kind.NOTICE and row.case_id is not None and document is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    text="📄 " + _t(row.locale, DOCUMENT_LABELS[document]),
                    callback_data=DocumentRequest(kind=document, case_id=row.case_id).pack(),
                )
            ]
        )
    files = (row.payload.get("params") or {}).get("files") if row.payload.get("notice") else 0
    if row.payload.get("notice") == "petition_opinion" and files and row.case_id is not None:
        # The handling opinion's documents (XF 32), sent to the citizen on request.
        label = _t(row.locale, N_("📎 Documents of the opinion ({count})")).format(count=files)
        rows.append(
            [
                InlineKeyboardButton(
                    text=label, callback_data=OpinionFiles(case_id=row.case_id).pack()
                )
            ]
        )
    if row.payload.get("booking"):
        # Booking messages carry their own buttons, one per row (take it, I will come, …).
        rows += [
            [InlineKeyboardButton(text=text, callback_data=data)]
            for text, data in booking_buttons(row.locale, row.payload)
        ]
    if row.payload.get("mediation"):
        rows += [
            [InlineKeyboardButton(text=text, callback_data=data)]
            for text, data in mediation_buttons(row.locale, row.payload)
        ]
    rows += [
        [InlineKeyboardButton(text=text, callback_data=data)]
        for text, data in assignment_buttons(row.locale, row.payload)
    ]
    if buttons:
        rows.append(buttons)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


# --- the transport ------------------------------------------------------------------------


class TelegramSender:
    """Implements the outbox's Transport with aiogram."""

    def __init__(self, bot: Bot, limiter: SendLimiter | None = None) -> None:
        self.bot = bot
        self.limiter: SendLimiter = limiter or RateLimiter()
        self.too_many_requests = 0

    async def wait_turn(self, chat_id: int) -> None:
        await self.limiter.acquire(chat_id)

    async def _send(self, row: OutboxRow) -> Message:
        if is_report_row(row.payload):
            return await self._send_report_part(row)
        return await self.bot.send_message(
            chat_id=row.chat_id,
            text=render_text(row),
            parse_mode=ParseMode.HTML,
            reply_markup=render_markup(row),
        )

    async def _send_report_part(self, row: OutboxRow) -> Message:
        """The monthly report's chart, figures or workbook (scheduling/monthly_report.py),
        drawn in a thread: matplotlib and openpyxl must not hold up the event loop."""
        part = await asyncio.to_thread(render_part, row.payload, row.locale)
        if part.part is Part.chart:
            return await self.bot.send_photo(
                chat_id=row.chat_id,
                photo=BufferedInputFile(part.data, filename=part.filename),
                caption=html.escape(part.text),
                parse_mode=ParseMode.HTML,
            )
        if part.part is Part.xlsx:
            return await self.bot.send_document(
                chat_id=row.chat_id,
                document=BufferedInputFile(part.data, filename=part.filename),
                caption=html.escape(part.text),
                parse_mode=ParseMode.HTML,
            )
        return await self.bot.send_message(
            chat_id=row.chat_id, text=part.text, parse_mode=ParseMode.HTML
        )

    async def deliver(self, row: OutboxRow) -> int:
        try:
            message = await self._send(row)
        except TelegramRetryAfter as exc:
            self.too_many_requests += 1
            self.limiter.pause(exc.retry_after)
            log.warning("429 from Telegram: pausing all reminders for %s s", exc.retry_after)
            raise RetryLater(exc.retry_after) from exc
        except (
            TelegramForbiddenError,
            TelegramNotFound,
            TelegramMigrateToChat,
            TelegramBadRequest,
            TelegramUnauthorizedError,
        ) as exc:
            raise Undeliverable(f"{type(exc).__name__}: {exc.message}") from exc
        except TelegramNetworkError as exc:
            if isinstance(exc.__cause__, aiohttp.ClientConnectorError):
                raise NotSent(f"connection failed: {exc.message}") from exc
            raise DeliveryUnknown(f"network error: {exc.message}") from exc
        except TelegramServerError as exc:
            raise DeliveryUnknown(f"server error: {exc.message}") from exc
        return message.message_id
