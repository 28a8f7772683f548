"""The agency's steps: /petitions, accept (受理), the handling opinion (text and files),
an extension asked for and decided, an objection, a petition returned."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_
from cases.intake.validation import ValidationError, clean_text
from cases.org.users import User
from cases.petitions.handover import (
    EXTENSION_PENDING,
    MAX_OPINION_TEXT,
    OBJECTION_ENDED,
    PERIOD_ENDED,
    AgencyPetitionView,
    Outcome,
    PetitionHandover,
    Result,
)
from cases.procedures.access import (
    extension_left,
)
from cases.procedures.actions import ReplyFile
from handlers.agency_reply import collect_reply_file
from handlers.keyboards import button, grid
from handlers.petition_agency.agency_page import (
    show_agency_petition,
)
from handlers.petition_agency.common import (
    ALREADY,
    EXTENSION_CHOICES,
    NOT_AVAILABLE,
    AgencyInput,
    AgencyStep,
    PetitionAgencyAction,
    query_message,
    stored_date,
    text_fingerprint,
)
from handlers.texts import current_locale, t


async def command_petitions(message: Message, user: User, handover: PetitionHandover) -> None:
    items = await handover.agency_petitions(user)
    if not items:
        await message.answer(_("No petitions are assigned to your agency now."))
        return
    labels = {"assigned": N_("to accept"), "accepted": N_("being handled")}
    await message.answer(
        _("Petitions assigned to your agency:"),
        reply_markup=grid(
            [
                button(
                    f"{number} · {_(labels.get(status, status))}",
                    PetitionAgencyAction(step=AgencyStep.view, case_id=case_id),
                )
                for case_id, number, status in items
            ]
        ),
    )


_RESULT_DONE: dict[AgencyStep, str] = {
    AgencyStep.accept: N_(
        "Accepted. The petitioner is told in your agency's name; the handling opinion is due "
        "by {conclude_due} (《信访工作条例》第三十四条)."
    ),
    AgencyStep.send: N_(
        "The handling opinion was sent to the petitioner with the 30-day review window "
        "(《信访工作条例》第三十五条). The petition office sees it in the case history."
    ),
    AgencyStep.days: N_("The extension request was sent to the head of your agency."),
    AgencyStep.approve: N_(
        "Approved: the handling period now ends on {new_due}. The petitioner is told the "
        "reason (《信访工作条例》第三十四条)."
    ),
    AgencyStep.refuse: N_("The extension was refused; the liaison is told."),
    AgencyStep.returned: N_(
        "Your objection and its reason went to the petition office (《信访工作条例》第二十三条"
        "第三款). If it agrees, it takes the petition back; if not, your agency must handle it. "
        "Until then you may still accept it."
    ),
}


async def _after(
    query: CallbackQuery,
    result: Result,
    step: AgencyStep,
    case_id: int,
    user: User,
    handover: PetitionHandover,
) -> None:
    message = query_message(query)
    if result.outcome is Outcome.not_allowed:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    if message is None:
        return
    facts = {
        k: stored_date(v) if k.endswith(("_due", "_on")) else v for k, v in result.facts.items()
    }
    if result.outcome is Outcome.already:
        note = _(ALREADY)
    elif result.outcome is Outcome.refused:
        note = "❗ " + t(result.error or ALREADY, **facts)
    else:
        facts = {
            k: stored_date(v) if k.endswith(("_due", "_on")) else v
            for k, v in result.facts.items()
        }
        note = t(_RESULT_DONE[step], **facts)
    if not await show_agency_petition(message, case_id, user, handover, note):
        await message.answer(note)


async def on_agency_view(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    message = query_message(query)
    if message is None or not await handover.page_view(callback_data.case_id, user):
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    await show_agency_petition(message, callback_data.case_id, user, handover)


async def on_accept(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    user: User,
    handover: PetitionHandover,
) -> None:
    result = await handover.accept(callback_data.case_id, user)
    await _after(query, result, AgencyStep.accept, callback_data.case_id, user, handover)


async def on_decide(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    user: User,
    handover: PetitionHandover,
) -> None:
    approve = callback_data.step is AgencyStep.approve
    result = await handover.decide_extension(
        callback_data.case_id, user, request_id=callback_data.n, approve=approve
    )
    await _after(query, result, callback_data.step, callback_data.case_id, user, handover)


def _draft_keyboard(case_id: int) -> InlineKeyboardMarkup:
    return grid(
        [
            button(
                _("📨 Send the opinion"),
                PetitionAgencyAction(step=AgencyStep.send, case_id=case_id),
            ),
            button(_("Cancel"), PetitionAgencyAction(step=AgencyStep.drop, case_id=case_id)),
        ],
        width=2,
    )


async def _pressed(
    query: CallbackQuery, case_id: int, user: User, handover: PetitionHandover
) -> tuple[AgencyPetitionView, Message] | None:
    """The agency's petition behind a pressed button, the press answered; None (and "not
    available" said) when this person's agency does not hold it or the message is gone."""
    view = await handover.agency_view(case_id, user)
    message = query_message(query)
    if view is None or message is None:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return None
    await query.answer()
    return view, message


async def on_opinion(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    pressed = await _pressed(query, callback_data.case_id, user, handover)
    if pressed is None:
        return
    view, message = pressed
    if view.handover.status != "accepted":
        await show_agency_petition(message, view.id, user, handover, _(ALREADY))
        return
    await state.set_state(AgencyInput.opinion)
    await state.set_data({"case_id": view.id, "text": "", "files": []})
    await message.answer(
        t(
            "Petition {number}: send the written handling opinion as text (the request, the "
            "facts and reasons, the outcome and its legal basis, 《信访工作条例》第三十二条) and "
            "any documents as files, then press “Send the opinion”.",
            number=f"<code>{html.escape(view.number)}</code>",
        ),
        reply_markup=_draft_keyboard(view.id),
    )


async def opinion_text(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    data = await state.get_data()
    text = (str(data.get("text") or "") + "\n" + message.text.strip()).strip()
    if len(text) > MAX_OPINION_TEXT:
        await message.answer(
            "❗ " + t("The opinion may be at most {limit} characters.", limit=MAX_OPINION_TEXT)
        )
        return
    await state.update_data(text=text)
    await _progress(message, int(data["case_id"]), text, data.get("files") or [])


async def opinion_file(message: Message, state: FSMContext, bot: Bot) -> None:
    files = await collect_reply_file(message, state, bot)
    if files is None:
        return
    data = await state.get_data()
    await _progress(message, int(data["case_id"]), str(data.get("text") or ""), files)


async def _progress(message: Message, case_id: int, text: str, files: list) -> None:
    await message.answer(
        t(
            "Received: {chars} characters of text, {count} files. Send more, or press “Send "
            "the opinion”.",
            chars=len(text),
            count=len(files),
        ),
        reply_markup=_draft_keyboard(case_id),
    )


async def on_send(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    data = await state.get_data()
    drafted = data.get("case_id") == callback_data.case_id
    if not drafted:
        view = await handover.agency_view(callback_data.case_id, user)
        result = Result(Outcome.not_allowed if view is None else Outcome.already)
    else:
        files = tuple(ReplyFile(**f) for f in data.get("files") or [])
        result = await handover.conclude(
            callback_data.case_id, user, text=str(data.get("text") or ""), files=files
        )
        if result.outcome is Outcome.done or result.outcome is Outcome.already:
            await state.clear()
    await _after(query, result, AgencyStep.send, callback_data.case_id, user, handover)


async def on_drop(
    query: CallbackQuery, callback_data: PetitionAgencyAction, state: FSMContext
) -> None:
    data = await state.get_data()
    if data.get("case_id") == callback_data.case_id:
        await state.clear()
    await query.answer(_("The draft was discarded."))


async def draft_other(message: Message) -> None:
    await message.answer(_("Please send the opinion as text, a document or a photo."))


async def on_extend(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    pressed = await _pressed(query, callback_data.case_id, user, handover)
    if pressed is None:
        return
    view, message = pressed
    if view.pending_extension is not None:
        await message.answer("❗ " + _(EXTENSION_PENDING))
        return
    x4 = view.running("X4")
    if view.period_ended and x4 is not None:  # a stale button: say so before a reason is typed
        await message.answer("❗ " + t(PERIOD_ENDED, conclude_due=x4.due_on))
        return
    await state.set_state(AgencyInput.extension)
    await state.set_data({"case_id": view.id})
    await message.answer(
        t(
            "Petition {number}: why does the handling need more time? Type the reason; the "
            "petitioner is told it if the head approves (《信访工作条例》第三十四条).",
            number=f"<code>{html.escape(view.number)}</code>",
        )
    )


async def extension_text(
    message: Message, state: FSMContext, user: User, handover: PetitionHandover
) -> None:
    assert message.text is not None
    data = await state.get_data()
    case_id = data.get("case_id")
    view = await handover.agency_view(case_id, user) if isinstance(case_id, int) else None
    x4 = view.running("X4") if view else None
    if view is None or x4 is None:
        await state.clear()
        await message.answer(_(NOT_AVAILABLE))
        return
    try:
        reason = clean_text(message.text, max_len=500)
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    await state.update_data(reason=reason)
    left = extension_left(x4, handover.engine)
    limit = left if left is not None else max(EXTENSION_CHOICES)
    choices = sorted({d for d in EXTENSION_CHOICES if d <= limit} | {limit})
    await message.answer(
        t("Extend by how many days? Up to {left} days are left.", left=limit),
        reply_markup=grid(
            [
                button(
                    t("{days} days", days=d),
                    PetitionAgencyAction(
                        step=AgencyStep.days, case_id=view.id, n=d, h=text_fingerprint(reason)
                    ),
                )
                for d in choices
                if d > 0
            ],
            width=2,
        ),
    )


async def on_days(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    data = await state.get_data()
    reason = str(data.get("reason") or "")
    if data.get("case_id") != callback_data.case_id or text_fingerprint(reason) != callback_data.h:
        view = await handover.agency_view(callback_data.case_id, user)
        result = Result(Outcome.not_allowed if view is None else Outcome.already)
    else:
        result = await handover.request_extension(
            callback_data.case_id, user, days=callback_data.n, reason=reason
        )
        if result.outcome is Outcome.done:
            await state.clear()
    await _after(query, result, AgencyStep.days, callback_data.case_id, user, handover)


async def on_object(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    pressed = await _pressed(query, callback_data.case_id, user, handover)
    if pressed is None:
        return
    view, message = pressed
    if view.handover.status != "assigned":
        await show_agency_petition(message, view.id, user, handover, _(ALREADY))
        return
    if not view.may_object:  # a stale button: say so before a reason is typed in vain
        note = "❗ " + t(OBJECTION_ENDED, objection_due=view.objection_due or "—")
        await show_agency_petition(message, view.id, user, handover, note)
        return
    await state.set_state(AgencyInput.objection)
    await state.set_data({"case_id": view.id})
    await message.answer(
        t(
            "Petition {number}: why is the matter not within your agency's competence? Type "
            "the reason; the petition office reads it (《信访工作条例》第二十三条: within five "
            "working days of the assignment).",
            number=f"<code>{html.escape(view.number)}</code>",
        )
    )


async def objection_text(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    data = await state.get_data()
    case_id = data.get("case_id")
    if not isinstance(case_id, int):
        await state.clear()
        return
    try:
        reason = clean_text(message.text, max_len=500)
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    await state.update_data(reason=reason)
    confirm = PetitionAgencyAction(
        step=AgencyStep.returned, case_id=case_id, h=text_fingerprint(reason)
    )
    await message.answer(
        t(
            "Return the petition to the petition office?\nReason: {reason}",
            reason=html.escape(reason),
        ),
        reply_markup=grid([button(_("Yes, confirm"), confirm)]),
    )


async def on_returned(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    data = await state.get_data()
    reason = str(data.get("reason") or "")
    if data.get("case_id") != callback_data.case_id or text_fingerprint(reason) != callback_data.h:
        view = await handover.agency_view(callback_data.case_id, user)
        result = Result(Outcome.not_allowed if view is None else Outcome.already)
    else:
        result = await handover.object(callback_data.case_id, user, reason=reason)
        if result.outcome is not Outcome.refused:
            await state.clear()
    if result.outcome is Outcome.done:
        message = query_message(query)
        await query.answer()
        if message is not None:
            await message.answer(_(_RESULT_DONE[AgencyStep.returned]))
        return
    await _after(query, result, AgencyStep.returned, callback_data.case_id, user, handover)
