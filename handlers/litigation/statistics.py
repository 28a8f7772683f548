"""The year's 出庭应诉 figures (/appearance): appearance rate, the head in person, by agency."""

from __future__ import annotations

import html

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from cases.litigation.court_cases import LitigationService
from handlers.litigation.shared import STAFF
from handlers.texts import t

FIRST_STATS_YEAR = 2000
"""/appearance accepts years from this one to next year: anything else is a typing mistake
(and year 0 or 9999 cannot even be turned into the year's start and end times)."""


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


async def appearance_stats(
    message: Message, command: CommandObject, litigation: LitigationService
) -> None:
    year = litigation.today().year
    if command.args:
        arg = command.args.strip()
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        if not (arg.isdecimal() and len(arg) == 4):
            await message.answer(
                _("Please give the year as four digits, for example /appearance 2026.")
            )
            return
        last = litigation.today().year + 1
        if not FIRST_STATS_YEAR <= int(arg) <= last:
            await message.answer(
                t(
                    "Please give a year from {first} to {last}, for example /appearance {year}.",
                    first=FIRST_STATS_YEAR,
                    last=last,
                    year=year,
                )
            )
            return
        year = int(arg)
    stats = await litigation.appearance_stats(year)
    lines = [f"<b>{html.escape(t('Court appearances in {year}', year=year))}</b>", ""]
    if stats.taken_place == 0:
        lines.append(_("No hearing has been recorded for this year."))
    else:
        lines.append(t("Hearings held: {count}", count=stats.taken_place))
        if stats.unrecorded:
            # Said before the rates, and the rates count them: an unrecorded hearing is not
            # an attended one until someone records that it was.
            lines += [
                "⚠️ "
                + t("Hearings not recorded yet: {count} (see /lawsuits)", count=stats.unrecorded),
                _("Until they are recorded, they count as not attended in the rates below."),
            ]
        lines += [
            t(
                "Appearance rate (the head or a competent staff member): {rate} ({part}/{whole})",
                rate=_percent(stats.attendance_rate),
                part=stats.attended,
                whole=stats.taken_place,
            ),
            t(
                "Head in person: {count} ({rate})",
                count=stats.head,
                rate=_percent(stats.head_rate),
            ),
            t("Staff member instead of the head: {count}", count=stats.staff),
            t("Only a lawyer (not permitted): {count}", count=stats.lawyer_only),
            t("Nobody appeared: {count}", count=stats.absent),
        ]
        if stats.head_required_taken_place:
            lines.append(
                t(
                    "Cases where the head had to appear: head in person {part}/{whole}",
                    part=stats.head_required_head,
                    whole=stats.head_required_taken_place,
                )
            )
    if stats.by_agency:
        lines += ["", _("By agency:")]
        for row in stats.by_agency:
            line = "• " + t(
                "{agency}: {held} held, head {head}, staff {staff}, lawyer only {lawyer_only}, "
                "nobody {absent}",
                agency=html.escape(row.agency),
                held=row.held + row.unrecorded,
                head=row.head,
                staff=row.staff,
                lawyer_only=row.lawyer_only,
                absent=row.absent,
            )
            if row.unrecorded:
                line += t(", not recorded yet {count}", count=row.unrecorded)
            lines.append(line)
    await message.answer("\n".join(lines))


def build_router() -> Router:
    router = Router(name="litigation-statistics")
    router.message.register(appearance_stats, Command("appearance"), STAFF)
    return router
