"""/sessions: administrators list, add, move and cancel reception sessions in the chat. The
service checks the legal calendar (no rest day; a 调休 make-up working day is a working day), the
past, the hours and the seats; the people booked are told (cases/reception/sessions.py).
Registered on the roster's router (handlers/roster.py)."""

from __future__ import annotations

import html
from datetime import date, time

from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from cases.org.organisation import Organisation, UnknownId
from cases.org.users import User
from cases.reception.booking import BookingError, BookingService
from handlers.booking_views import agency_name, refuse
from handlers.texts import t


def _times(text: str) -> tuple[time, time]:
    start, _dash, end = text.partition("-")
    return time.fromisoformat(start), time.fromisoformat(end)


async def command_sessions(
    message: Message,
    command: CommandObject,
    user: User,
    booking: BookingService,
    org: Organisation,
) -> None:
    args = (command.args or "").split()
    # Escaped: the placeholders in angle brackets are not HTML (Telegram refused the message).
    usage = html.escape(
        _(
            "Usage:\n/sessions — the coming sessions\n/sessions add <agency id> <YYYY-MM-DD> "
            "<HH:MM-HH:MM> [seats]\n/sessions move <session> <YYYY-MM-DD> <HH:MM-HH:MM>\n"
            "/sessions cancel <session>"
        )
    )
    try:
        if not args:
            lines = [_("Coming reception sessions:")]
            for s in await booking.upcoming_sessions():
                line = (
                    f"#{s.id} · {html.escape(agency_name(org, s.agency))} · "
                    + t("{day}", day=s.day)
                    + f" {s.starts.strftime('%H:%M')}–{s.ends.strftime('%H:%M')} · "
                    + t("{seats} seats per slot", seats=s.seats)
                )
                if s.provisional:
                    line += " · " + _("provisional")
                if not s.confirmed:
                    # The organisation file's reception_days are examples until the county
                    # confirms day, hours and place (confirmed: true in the file).
                    line += " · " + _("example from the organisation file, not confirmed")
                lines.append(line)
            await message.answer("\n".join(lines) + "\n\n" + usage)
        elif args[0] == "add" and len(args) in (4, 5):
            starts, ends = _times(args[3])
            session = await booking.add_session(
                args[1],
                date.fromisoformat(args[2]),
                starts,
                ends,
                actor=user.telegram_id,
                seats=int(args[4]) if len(args) == 5 else None,
            )
            await message.answer(t("Session #{id} added.", id=session.id))
        elif args[0] == "move" and len(args) == 4:
            starts, ends = _times(args[3])
            session, told = await booking.move_session(
                int(args[1]), date.fromisoformat(args[2]), starts, ends, actor=user.telegram_id
            )
            await message.answer(
                t("Session #{id} moved; {count} people told.", id=session.id, count=told)
            )
        elif args[0] == "cancel" and len(args) == 2:
            told = await booking.cancel_session(int(args[1]), actor=user.telegram_id)
            await message.answer(
                t("Session #{id} cancelled; {count} people told.", id=args[1], count=told)
            )
        else:
            await message.answer(usage)
    except BookingError as error:
        await refuse(message, error, booking)
    except UnknownId:
        await message.answer(_("Unknown agency id."))
    except ValueError:
        await message.answer(usage)
