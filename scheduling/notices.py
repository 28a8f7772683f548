"""Notices to citizens about their case: durable outbox rows, rendered when they are sent.

A staff action (accept, refuse, 补正, extension, decision …), a deemed acceptance (FY 30(3)) or a
recalculated date becomes one ``reminders`` row of kind ``notice`` addressed to the case's citizen,
written in the same transaction as the change it reports (see ``cases.procedures.actions``). The
outbox then sends it like any reminder: rate-limited, once (the row's ``dedup_key``), never at
night (``quiet = 'defer'``), with the "open case" button. The row holds the notice kind and its
facts, not text: the sender renders it in the recipient's language at send time
(:func:`render_case_notice`), so a citizen who switches language before it goes out gets it in the
new one.

Parameter conventions in a notice's ``params``: keys ending in ``_on`` or ``_due`` are ISO dates
(written with the weekday), keys ending in ``_msgid`` are English msgids (translated),
``basis_zh``/``basis_en`` become ``{basis}`` in the reader's language; ``provisional`` (true when
a date shown lies in a year the holiday calendar does not cover yet, domain §1.2) adds the
provisional note; anything else is text typed by staff (escaped).
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from cases.i18n import DEFAULT_LOCALE, LOCALES, N_, format_date, translate
from cases.intake.forms import PROVISIONAL_NOTE
from cases.law.deadline_rules import RULES, DeadlineEngine
from cases.org.users import Role
from cases.petitions.handover import NOTICE_TEXTS as HANDOVER_NOTICE_TEXTS
from cases.procedures.action_steps import NoticeSink
from cases.procedures.actions import settle_deemed_acceptances
from cases.procedures.deadline_records import ChangedDeadline
from cases.procedures.transitions import Notice
from cases.store.db import Database, UnitConnection
from cases.store.time import LEGAL_TZ, Clock, to_db
from scheduling.policy import CLOSED_CASE_STATUSES, Quiet
from scheduling.recipients import RecipientDirectory
from scheduling.timing import after_quiet_hours

log = logging.getLogger(__name__)

NOTICE_TEXTS: dict[str, str] = {
    Notice.deemed_accepted: N_(
        "Your reconsideration application {number} is deemed accepted as of {accepted_on}: "
        "the acceptance review period ended without a decision ({basis}). The reconsideration "
        "decision is due by {decision_due} at the latest."
    ),
    Notice.accepted: N_(
        "Your reconsideration application {number} was accepted on {accepted_on}. It is "
        "handled under the {track_msgid}; the decision is due by {decision_due} at the latest "
        "({basis})."
    ),
    Notice.accepted_after_review: N_(
        "Your reconsideration application {number} is accepted as of {accepted_on}, the day "
        "the acceptance review period ended (Administrative Reconsideration Law, Art. 30(3)). "
        "It is handled under the {track_msgid}; the decision is due by {decision_due} at the "
        "latest ({basis})."
    ),
    Notice.petition_accepted: N_(
        "Your petition {number} was accepted on {accepted_on}. The handling body concludes it "
        "and issues a written handling opinion by {conclude_due} at the latest ({basis})."
    ),
    Notice.petition_forwarded: N_(
        "Your suggestion {number} was forwarded on {accepted_on} to the body concerned, which "
        "studies it ({basis}). Thank you for your suggestion."
    ),
    # XF 30(3): nothing about the persons or the matter reported, only that it went on.
    Notice.report_forwarded: N_(
        "Your report {number} was forwarded on {accepted_on} to the discipline inspection and "
        "supervision body, which handles it under its own rules ({basis}). Report materials "
        "are not disclosed to the persons reported."
    ),
    Notice.refused: N_(
        "Your reconsideration application {number} was not accepted ({basis}).\nReason: "
        "{reason}\nThe written decision is served on you. If you disagree, you may bring an "
        "administrative lawsuit as the law provides."
    ),
    Notice.correction_requested: N_(
        "Your reconsideration application {number} needs to be completed ({basis}).\nWhat is "
        "needed: {missing}\nPlease supply it within 10 working days, by {supply_due}: in this "
        "chat with “My cases” → “Add material”, or at the office. If it is not supplied in "
        "time without a good reason, the application is deemed abandoned. Until then the "
        "acceptance review is paused."
    ),
    Notice.correction_received: N_(
        "The material you supplied for {number} was received on {received_on}. The acceptance "
        "review starts again and ends by {review_due} ({basis})."
    ),
    Notice.supply_extended: N_(
        "The time to supply the material for your application {number} was extended by "
        "{days} working days, from {old_due} to {new_due} ({basis}).\nReason: {reason}"
    ),
    Notice.deemed_withdrawn: N_(
        "The material requested for your reconsideration application {number} was not "
        "supplied by {supply_due}. Under {basis}, an application not completed in time without "
        "a good reason is deemed abandoned; this has been recorded and the case is closed. If "
        "you had a good reason for the delay, please contact the reconsideration office."
    ),
    Notice.extended: N_(
        "The time limit in case {number} to “{what_msgid}” was extended by {days} days, with "
        "approval, from {old_due} to {new_due} ({basis}).\nReason: {reason}"
    ),
    Notice.suspended: N_(
        "Handling of case {number} is suspended from {suspended_on} ({basis}).\nReason: "
        "{reason}\nThe time limits stand still meanwhile; you will be told when handling "
        "resumes."
    ),
    Notice.resumed: N_(
        "Handling of case {number} resumed on {resumed_on} ({basis}). The decision is now due "
        "by {decision_due} at the latest."
    ),
    Notice.decided: N_(
        "A reconsideration decision on case {number} was made on {decided_on}; the written "
        "decision is served on you. If you disagree, you may sue in the people's court within "
        "15 days after receiving it ({basis}); if you receive it today, the last day is "
        "{next_due}."
    ),
    Notice.concluded: N_(
        "A written handling opinion on your petition {number} was issued on {decided_on}. If "
        "you disagree, you may ask the next-higher body for a review within 30 days after "
        "receiving it ({basis}); if you receive it today, the last day is {next_due}."
    ),
    Notice.mediation_agreed: N_(
        "The mediation of case {number} ended with an agreement on {ended_on}. Both parties may "
        "apply together to the people's court for judicial confirmation within 30 days after "
        "the agreement takes effect, by {confirm_due} ({basis}); whether an agreement reached "
        "in administrative mediation can be confirmed is for the court to decide. A confirmed "
        "agreement can be enforced by the court. We will remind you before that day."
    ),
    Notice.mediation_failed: N_(
        "The mediation of case {number} ended on {ended_on} without an agreement. You may still "
        "seek arbitration, ask the competent administrative body to handle the matter, or "
        "bring a lawsuit in the people's court."
    ),
    Notice.recomputed: N_(
        "A date in case {number} was recalculated with the newly published holiday calendar: "
        "“{what_msgid}” is now due by {new_due} (before: {old_due})."
    ),
}
NOTICE_TEXTS.update(HANDOVER_NOTICE_TEXTS)  # petitions handed to the agencies (XF 22-23, 34)
HEADING = N_("📣 Notice about your case")
STAFF_HEADING = N_("📣 Notice")

_ACTOR_ROLES: dict[str, Role] = {
    # Who acts under a rule (cases.law.deadline_rules Actor) → who is told when its date moves.
    "reconsideration_office": Role.office_staff,
    "petition_office": Role.office_staff,
    "agency": Role.agency_liaison,
    "respondent": Role.agency_liaison,
    "defendant": Role.agency_liaison,
    "agency_head": Role.agency_head,
    "mediator": Role.mediator,
}


# -- writing ---------------------------------------------------------------------------------


def _locale(value: str | None) -> str:
    return value if value in LOCALES else DEFAULT_LOCALE


async def _insert(
    conn: UnitConnection,
    *,
    case_id: int,
    kind: str,
    params: Mapping[str, Any],
    dedup_key: str,
    chat_id: int,
    locale: str,
    audience: Role,
    case_number: str,
    procedure: str,
    clock: Clock,
    tz: ZoneInfo,
    due_at: datetime | None = None,
) -> bool:
    """``due_at``: a notice for later (a last day's reminder), cancelled by its dedup key."""
    now = clock.now()
    quiet = Quiet.DEFER if audience is Role.citizen else Quiet.DEFER_UNLESS_DUE_TODAY
    if due_at is None:
        due_at = after_quiet_hours(now, tz) if audience is Role.citizen else now
    payload = {
        "notice": kind,
        "case_number": case_number,
        "procedure": procedure,
        "params": dict(params),
    }
    cursor = await conn.execute(
        "INSERT INTO reminders(dedup_key, kind, rule_id, source_kind, source_id, case_id, step,"
        " audience, chat_id, locale, critical, quiet, payload, due_at, created_at, updated_at)"
        " VALUES (?, 'notice', ?, 'notice', NULL, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)"
        " ON CONFLICT(dedup_key) DO NOTHING",
        (
            dedup_key,
            params.get("rule_id"),
            case_id,
            kind,
            audience.value,
            chat_id,
            locale,
            quiet.value,
            json.dumps(payload, ensure_ascii=False),
            to_db(due_at),
            to_db(now),
            to_db(now),
        ),
    )
    return cursor.rowcount == 1


async def queue_case_notice(
    target: Database | UnitConnection,
    case_id: int,
    kind: str,
    params: Mapping[str, Any],
    dedup_key: str,
    *,
    clock: Clock,
    tz: ZoneInfo = LEGAL_TZ,
) -> bool:
    """One notice to the case's citizen, in their language; False if ``dedup_key`` was queued
    before (a double press, a retried tick). With a connection it joins the caller's unit of
    work; with the database it is a unit of its own."""
    if kind not in NOTICE_TEXTS:
        raise ValueError(f"unknown notice kind {kind!r}")
    if isinstance(target, Database):
        async with target.transaction() as conn:
            return await queue_case_notice(
                conn, case_id, kind, params, dedup_key, clock=clock, tz=tz
            )
    async with target.execute(
        "SELECT c.citizen_id, c.number, c.procedure, u.locale FROM cases c"
        " LEFT JOIN users u ON u.telegram_id = c.citizen_id WHERE c.id = ?",
        (case_id,),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise ValueError(f"no case {case_id}")
    if row["citizen_id"] is None:
        # A citizen without an account (a petition registered at a reception day from a
        # community worker's booking): told in writing by the office, not in any chat.
        return False
    return await _insert(
        target,
        case_id=case_id,
        kind=kind,
        params=params,
        dedup_key=dedup_key,
        chat_id=int(row["citizen_id"]),
        locale=_locale(row["locale"]),
        audience=Role.citizen,
        case_number=str(row["number"]),
        procedure=str(row["procedure"]),
        clock=clock,
        tz=tz,
    )


def notice_sink(clock: Clock, tz: ZoneInfo = LEGAL_TZ) -> NoticeSink:
    """:func:`queue_case_notice` bound to a clock: what ``cases.procedures.actions.CaseActions``
    takes."""
    return partial(queue_case_notice, clock=clock, tz=tz)


async def deem_accepted(db: Database, clock: Clock, engine: DeadlineEngine) -> list[int]:
    """The scheduler's step for FY 30(3): F5 reviews that ended undecided make their cases
    accepted, and each citizen is told once (``notice:deemed_accepted:<case>``)."""
    accepted = await settle_deemed_acceptances(db, clock, notice_sink(clock), engine=engine)
    if accepted:
        log.info("deemed accepted (FY 30(3)): %d case(s)", len(accepted))
    return accepted


async def notify_recomputed(
    db: Database,
    changed: Sequence[ChangedDeadline],
    clock: Clock,
    *,
    admin_ids: Sequence[int] = (),
    tz: ZoneInfo = LEGAL_TZ,
) -> int:
    """After ``recompute_provisional``: tell the citizen of each case, and the people who must
    act under the rule, that a date moved. Returns the number of notices queued.

    Closed cases are skipped. Keys carry the new date, so a later move is told again and
    calling this twice with the same result queues nothing new.
    """
    directory = RecipientDirectory(db, admin_ids=list(admin_ids))
    queued = 0
    for change in changed:
        case = await db.fetch_one(
            "SELECT number, procedure, status FROM cases WHERE id = ?", (change.case_id,)
        )
        if case is None or case["status"] in CLOSED_CASE_STATUSES:
            continue
        rule = RULES.get(change.rule_id)
        params = {
            "rule_id": change.rule_id,
            "what_msgid": rule.title if rule else change.rule_id,
            "old_due": change.old_due.isoformat(),
            "new_due": change.new_due.isoformat(),
            "provisional": change.provisional,
        }
        key = f"notice:recomputed:{change.deadline_id}:{change.new_due.isoformat()}"
        async with db.transaction() as conn:
            queued += await queue_case_notice(
                conn, change.case_id, Notice.recomputed, params, key, clock=clock, tz=tz
            )
            role = _ACTOR_ROLES.get(rule.actor) if rule else None
            if role is None:
                continue
            for person in await directory.resolve(role, change.case_id):
                queued += await _insert(
                    conn,
                    case_id=change.case_id,
                    kind=Notice.recomputed,
                    params=params,
                    dedup_key=f"{key}:{person.chat_id}",
                    chat_id=person.chat_id,
                    locale=person.locale,
                    audience=role,
                    case_number=str(case["number"]),
                    procedure=str(case["procedure"]),
                    clock=clock,
                    tz=tz,
                )
    return queued


async def alert_calendar_gap(
    db: Database,
    years: Sequence[int],
    clock: Clock,
    *,
    admin_ids: Sequence[int],
    tz: ZoneInfo = LEGAL_TZ,
) -> int:
    """Domain §1.2: the holiday data does not cover ``years``, so deadlines there are counted
    on Monday-Friday and marked provisional. The administrators are told, once a day at most
    (the key carries the date), until the overrides file covers those years."""
    if not years:
        return 0
    label = ", ".join(str(year) for year in years)
    today = clock.now().astimezone(tz).date().isoformat()
    directory = RecipientDirectory(db, admin_ids=list(admin_ids))
    now = to_db(clock.now())
    queued = 0
    async with db.transaction() as conn:
        for person in await directory.resolve(Role.admin, None):
            payload = {"problem": "calendar_missing", "years": label, "recipient_role": "admin"}
            cursor = await conn.execute(
                "INSERT INTO reminders(dedup_key, kind, source_kind, step, audience, chat_id,"
                " locale, critical, quiet, payload, due_at, created_at, updated_at)"
                " VALUES (?, 'notice', 'notice', 'calendar_missing', 'admin', ?, ?, 1, ?, ?, ?,"
                " ?, ?) ON CONFLICT(dedup_key) DO NOTHING",
                (
                    f"notice:calendar_missing:{label}:{today}:{person.chat_id}",
                    person.chat_id,
                    person.locale,
                    Quiet.DEFER_UNLESS_DUE_TODAY.value,
                    json.dumps(payload, ensure_ascii=False),
                    now,
                    now,
                    now,
                ),
            )
            queued += cursor.rowcount
    return queued


# -- rendering (called by scheduling.sender at send time) -------------------------------------


def _value(key: str, value: Any, locale: str) -> str:
    if isinstance(value, str) and (key.endswith("_on") or key.endswith("_due")) and value:
        try:
            return format_date(date.fromisoformat(value), locale)
        except ValueError:
            return html.escape(value)
    if key.endswith("_msgid"):
        return html.escape(translate(locale, str(value)))
    return html.escape(str(value))


def render_case_notice(locale: str, payload: Mapping[str, Any], *, citizen: bool = True) -> str:
    """The notice text in ``locale`` (HTML): heading, then the filled-in template."""
    kind = str(payload.get("notice"))
    template = NOTICE_TEXTS.get(kind)
    if template is None:
        return translate(locale, HEADING)
    params: dict[str, Any] = dict(payload.get("params") or {})
    values = {
        key: _value(key, value, locale)
        for key, value in params.items()
        if key not in ("basis_zh", "basis_en", "provisional")
    }
    basis = params.get("basis_en" if locale == "en" else "basis_zh", "")
    values["basis"] = html.escape(str(basis))
    values["number"] = f"<code>{html.escape(str(payload.get('case_number', '')))}</code>"
    heading = translate(locale, HEADING if citizen else STAFF_HEADING)
    body = translate(locale, template).format_map(_Missing(values))
    if params.get("provisional") is True:
        body += "\n<i>" + html.escape(translate(locale, PROVISIONAL_NOTE)) + "</i>"
    return f"<b>{html.escape(heading)}</b>\n{body}"


class _Missing(dict[str, str]):
    """A placeholder without a value renders as a dash rather than failing the send."""

    def __missing__(self, key: str) -> str:
        return "—"
