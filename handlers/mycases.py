"""/mycases: a citizen's own cases, their timeline, adding material, withdrawing.

Every button carries only a case id; ownership is checked by the service on every press, so a
forwarded message or a forged button shows nothing of anyone else's case. Staff who open a case
from a reminder see it with ID and phone numbers masked.
"""

from __future__ import annotations

import html

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from cases.i18n import N_, format_date
from cases.intake.citizen_cases import EVENT_TEXTS
from cases.intake.form_engine import PROCEDURE_NAMES, Procedure, display_value
from cases.intake.forms import FORMS
from cases.intake.records import CaseClosed, CaseDetail, CaseNotFound, CaseSummary
from cases.intake.service import IntakeService
from cases.intake.validation import TextLimits, ValidationError, clean_text
from cases.law.deadline_rules import RULES
from cases.org.users import Role, User
from cases.petitions.handover import PetitionHandover
from cases.procedures.actions import CaseActions
from cases.procedures.followup import RATE_BUTTON, RATE_PROMPT, FollowUpService, RatingOutcome
from cases.procedures.history import CITIZEN
from cases.procedures.statuses import CITIZEN_STATUS_TEXTS as CASE_STATUSES
from cases.procedures.statuses import OPEN_STATUSES, CaseStatus
from cases.reception.booking import BookingService
from cases.store.db import Database
from handlers.booking_manage import show_bookings
from handlers.callbacks import CaseAction, CaseFollowUp, DocumentList, MenuAction
from handlers.filters import When
from handlers.intake.files import download_attachment
from handlers.keyboards import button, grid, main_menu
from handlers.texts import colon, current_locale, event_text, t

WITHDRAW_WARNING: dict[Procedure, str] = {
    Procedure.reconsideration: N_(
        "If you withdraw, the reconsideration ends. You cannot apply again on the same facts "
        "and reasons, unless the withdrawal was not what you truly wanted "
        "(《行政复议法》第七十四条)."
    ),
    Procedure.petition: N_("If you withdraw, the petition office stops handling this matter."),
    Procedure.mediation: N_("If you withdraw, the mediation room stops arranging mediation."),
}


HISTORY_SHOWN = 25
LIST_LIMIT = 30
MESSAGE_BUDGET = 3800  # of Telegram's 4096 characters, with room for the closing lines


class AddingMaterial(StatesGroup):
    waiting = State()


class RatingComment(StatesGroup):
    """After a score: the next text is the optional comment on the handling."""

    writing = State()


def _deadline_line(case: CaseSummary) -> str | None:
    deadline = case.next_deadline
    if deadline is None:
        return None
    rule = RULES[deadline.rule_id]
    line = t(
        "Next time limit: {what}, by {date} ({basis}).",
        what=_(rule.title),
        date=deadline.due_on,
        basis=deadline.basis if current_locale() == "zh" else rule.basis_en,
    )
    if deadline.provisional:
        line += " " + _("(provisional)")
    return line


def case_list_keyboard(cases: list[CaseSummary]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for case in cases[:30]:
        builder.button(
            text=f"{case.number} · {_(CASE_STATUSES.get(case.status, case.status))}",
            callback_data=CaseAction(action="view", case_id=case.id),
        )
    builder.adjust(1)
    return builder.as_markup()


def case_page(case: CaseDetail, intake: IntakeService) -> str:
    locale = current_locale()
    lines = [
        f"<b>{html.escape(_(PROCEDURE_NAMES[case.procedure]))}</b> <code>{case.number}</code>",
        t("Status: {status}", status=_(CASE_STATUSES.get(case.status, case.status))),
        t("Received on: {date}", date=case.received_on),
        t("Matter: {subject}", subject=html.escape(case.subject)),
    ]
    if case.routed_to_name:
        lines.append(t("Handled by: {unit}", unit=html.escape(case.routed_to_name)))
    deadline = _deadline_line(case)
    if deadline:
        lines.append(deadline)
    if case.linked_number:
        lines.append(t("Linked with: {number}", number=f"<code>{case.linked_number}</code>"))
    lines.append(t("Files: {count}", count=case.attachments))
    spec = FORMS[case.procedure]
    for key in ("applicant_name", "id_number", "phone"):
        field = spec.field(key)
        if key in case.answers:
            value = display_value(field, case.answers[key], intake.org, _, locale)
            lines.append(f"{html.escape(_(field.label))}{colon()}{html.escape(value)}")
    lines += ["", "<b>" + _("History") + "</b>"]
    # Only what a citizen has words for (internal kinds such as acknowledgements of staff
    # reminders stay on the staff side), and the latest entries: the page must fit one message.
    shown = [event for event in case.events if event.kind in EVENT_TEXTS]
    if len(shown) > HISTORY_SHOWN:
        lines.append(t("… {count} earlier entries", count=len(shown) - HISTORY_SHOWN))
        shown = shown[-HISTORY_SHOWN:]
    for event in shown:
        text = event_text(event.kind, event.detail, CITIZEN, EVENT_TEXTS)
        when = format_date(event.at.astimezone(intake.tz).date(), locale)
        lines.append(f"• {when} — {html.escape(text)}")
    return "\n".join(lines)


def case_keyboard(case: CaseDetail) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if case.status in OPEN_STATUSES:
        builder.button(
            text=_("📎 Add material"), callback_data=CaseAction(action="add", case_id=case.id)
        )
        builder.button(
            text=_("↩️ Withdraw"), callback_data=CaseAction(action="withdraw", case_id=case.id)
        )
    if case.procedure is Procedure.reconsideration or case.status == CaseStatus.settled:
        # The application to print and sign, the office's notices; the mediation agreement.
        builder.button(text=_("📄 Documents (PDF)"), callback_data=DocumentList(case_id=case.id))
    builder.button(text=_("⬅️ My cases"), callback_data=CaseAction(action="list", case_id=0))
    builder.adjust(1)
    return builder.as_markup()


async def show_my_cases(target: Message, user_id: int, intake: IntakeService) -> None:
    cases = await intake.my_cases(user_id)
    if not cases:
        await target.answer(
            _("You have no cases yet. What would you like to do?"), reply_markup=main_menu()
        )
        return
    lines = [_("Your cases:"), ""]
    listed = 0
    size = sum(len(line) for line in lines) + 200
    for case in cases[:LIST_LIMIT]:
        entry = [
            f"<code>{case.number}</code> · {_(CASE_STATUSES.get(case.status, case.status))}"
            f" · {html.escape(case.subject)}"
        ]
        deadline = _deadline_line(case)
        if deadline:
            entry.append("   " + deadline)
        size += sum(len(line) + 1 for line in entry)
        if size > MESSAGE_BUDGET:
            break  # Telegram refuses messages over 4096 characters
        lines += entry
        listed += 1
    if listed < len(cases):
        lines.append(t("… and {count} more cases", count=len(cases) - listed))
    lines += ["", _("Choose a case to see its details:")]
    await target.answer("\n".join(lines), reply_markup=case_list_keyboard(cases))


async def command_mycases(
    message: Message, intake: IntakeService, booking: BookingService | None = None
) -> None:
    assert message.from_user
    await show_my_cases(message, message.from_user.id, intake)
    if booking is not None:
        await show_bookings(message, message.from_user.id, booking)


async def menu_mycases(
    query: CallbackQuery, intake: IntakeService, booking: BookingService | None = None
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_my_cases(query.message, query.from_user.id, intake)
        if booking is not None:
            await show_bookings(query.message, query.from_user.id, booking)


async def case_button(
    query: CallbackQuery,
    callback_data: CaseAction,
    state: FSMContext,
    intake: IntakeService,
    user: User,
    db: Database,
    actions: CaseActions,
    handover: PetitionHandover | None = None,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    if callback_data.action == "list":
        await query.answer()
        if message:
            await show_my_cases(message, query.from_user.id, intake)
        return
    try:
        case = await intake.case_for_citizen(callback_data.case_id, user_id=query.from_user.id)
    except CaseNotFound:
        # Staff opening a case from a reminder or notice: the staff page with its actions.
        from handlers.staff import open_staff_case

        if user.role is Role.citizen or not await open_staff_case(
            query,
            callback_data.case_id,
            user,
            actions,
            db,
            intake.org,
            callback_data.action,
            handover,
        ):
            await query.answer(_("This case is not available to you."), show_alert=True)
        return
    await query.answer()
    if message is None:
        return
    action = callback_data.action
    if action == "view":
        await message.answer(case_page(case, intake), reply_markup=case_keyboard(case))
    elif action == "withdraw" and case.status in OPEN_STATUSES:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("Yes, withdraw"),
            callback_data=CaseAction(action="withdraw_yes", case_id=case.id),
        )
        builder.button(
            text=_("No, keep it"), callback_data=CaseAction(action="view", case_id=case.id)
        )
        await message.answer(
            t("Do you want to withdraw case {number}?", number=f"<code>{case.number}</code>")
            + "\n\n"
            + _(WITHDRAW_WARNING[case.procedure]),
            reply_markup=builder.as_markup(),
        )
    elif action == "withdraw_yes":
        done = await intake.withdraw(case.id, user_id=query.from_user.id)
        if (await state.get_data()).get("case_id") == case.id:
            await state.clear()  # no more "add material" to a withdrawn case
        number = f"<code>{case.number}</code>"
        if done:
            text = t("Case {number} is withdrawn.", number=number)
            # The withdrawal closes the case: the one moment to ask for a rating.
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [button(_(RATE_BUTTON), CaseFollowUp(action="rate", case_id=case.id))],
                    *main_menu().inline_keyboard,
                ]
            )
            await message.answer(text, reply_markup=markup)
            return
        elif case.status == CaseStatus.withdrawn:  # the button pressed twice
            text = t("Case {number} is already withdrawn.", number=number)
        else:
            text = _("This case can no longer be withdrawn.")
        await message.answer(text, reply_markup=main_menu())
    elif action == "add" and case.status in OPEN_STATUSES:
        await state.set_state(AddingMaterial.waiting)
        await state.set_data({"case_id": case.id})
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("✅ Done"), callback_data=CaseAction(action="add_done", case_id=case.id)
        )
        await message.answer(
            t(
                "Send the additional material for case {number}: files, photos, voice messages "
                "or text. Press “Done” when you have finished.",
                number=f"<code>{case.number}</code>",
            ),
            reply_markup=builder.as_markup(),
        )
    elif action == "add_done":
        await state.clear()
        await message.answer(
            _("Thank you. The material was added to your case."), reply_markup=main_menu()
        )
    else:
        await message.answer(case_page(case, intake), reply_markup=case_keyboard(case))


async def _material_case(state: FSMContext) -> int | None:
    case_id = (await state.get_data()).get("case_id")
    return case_id if isinstance(case_id, int) else None


async def _material_refused(message: Message, state: FSMContext, error: CaseNotFound) -> None:
    await state.clear()
    text = (
        _("This case is closed, so material can no longer be added. /mycases shows its status.")
        if isinstance(error, CaseClosed)
        else _("This case is not available to you.")
    )
    await message.answer(text, reply_markup=main_menu())


async def material_text(message: Message, state: FSMContext, intake: IntakeService) -> None:
    assert message.from_user and message.text is not None
    case_id = await _material_case(state)
    try:
        text = clean_text(message.text, max_len=TextLimits.FACTS)
        if case_id is None:
            raise CaseNotFound(0)
        await intake.add_note(case_id, user_id=message.from_user.id, text=text)
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    except CaseNotFound as missing:
        await _material_refused(message, state, missing)
        return
    await message.answer(_("Added to your case. Send more, or press “Done”."))


async def material_file(
    message: Message, bot: Bot, state: FSMContext, intake: IntakeService
) -> None:
    assert message.from_user
    case_id = await _material_case(state)
    if case_id is None:
        await state.clear()
        return
    attachment = await download_attachment(message, bot)
    if isinstance(attachment, ValidationError):
        await message.answer("❗ " + attachment.render(current_locale()))
        return
    try:
        added, _count = await intake.add_attachment(
            user_id=message.from_user.id, attachment=attachment, case_id=case_id
        )
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    except CaseNotFound as missing:
        await _material_refused(message, state, missing)
        return
    await message.answer(
        _("Added to your case. Send more, or press “Done”.")
        if added
        else _("You already sent this file; it is saved once.")
    )


# --- after a case closes: rating, 复查 (cases.procedures.followup) ----------------------------


async def follow_up_button(
    query: CallbackQuery,
    callback_data: CaseFollowUp,
    state: FSMContext,
    intake: IntakeService,
    followup: FollowUpService,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    user_id = query.from_user.id
    case_id = callback_data.case_id
    if callback_data.action == "review":
        await _request_review(query, message, case_id, intake)
        return
    if callback_data.action == "rate":
        outcome = await followup.may_rate(case_id, user_id=user_id)
        if outcome is not RatingOutcome.ok:
            await query.answer(_(RATING_REFUSALS[outcome]), show_alert=True)
            return
        await query.answer()
        if message is not None:
            scores = [
                button("⭐" * score, CaseFollowUp(action="score", case_id=case_id, value=score))
                for score in range(5, 0, -1)
            ]
            await message.answer(
                _(RATE_PROMPT) + "\n" + _("5 stars: very satisfied; 1 star: not at all."),
                reply_markup=grid(scores, 1),
            )
        return
    if callback_data.action == "score":
        outcome = await followup.rate(case_id, user_id=user_id, score=callback_data.value)
        if outcome is not RatingOutcome.ok:
            await query.answer(_(RATING_REFUSALS[outcome]), show_alert=True)
            return
        await query.answer()
        if await state.get_state() is not None:
            # In the middle of something else (a form): the comment would take its answer.
            if message is not None:
                await message.answer(_("Thank you."))
            return
        await state.set_state(RatingComment.writing)
        await state.set_data({"rated_case": case_id})
        if message is not None:
            await message.answer(
                _(
                    "Thank you for your rating. If you wish, type a comment on the handling "
                    "now; or press “No comment”."
                ),
                reply_markup=grid(
                    [button(_("No comment"), CaseFollowUp(action="nocomment", case_id=case_id))]
                ),
            )
        return
    # nocomment
    await query.answer()
    await state.clear()
    if message is not None:
        await message.answer(_("Thank you."), reply_markup=main_menu())


RATING_REFUSALS: dict[RatingOutcome, str] = {
    RatingOutcome.not_found: N_("This case is not available to you."),
    RatingOutcome.open: N_("The case is not closed yet; you can rate it once it is."),
    RatingOutcome.already: N_("You have already rated this case. Thank you."),
}


async def rating_comment(message: Message, state: FSMContext, followup: FollowUpService) -> None:
    assert message.from_user and message.text is not None
    case_id = (await state.get_data()).get("rated_case")
    try:
        text = clean_text(message.text, max_len=TextLimits.REQUEST)
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    await state.clear()
    if isinstance(case_id, int):
        await followup.comment(case_id, user_id=message.from_user.id, text=text)
    await message.answer(_("Thank you. Your comment was recorded."), reply_markup=main_menu())


async def _request_review(
    query: CallbackQuery, message: Message | None, case_id: int, intake: IntakeService
) -> None:
    from handlers.intake.rendering import receipt_text

    try:
        review = await intake.request_review(case_id, user_id=query.from_user.id)
    except CaseNotFound:
        await query.answer(_("This case is not available to you."), show_alert=True)
        return
    if review.outcome == "already":
        await query.answer(
            t("You already asked for this review: case {number}.", number=review.number or ""),
            show_alert=True,
        )
        return
    if review.outcome == "late":
        await query.answer(
            t(
                "The 30 days for asking for a review ended on {date} "
                "(《信访工作条例》第三十五条).",
                date=review.due,
            ),
            show_alert=True,
        )
        return
    if review.outcome != "filed" or review.result is None:
        await query.answer(_("A review can be asked for only after a handling opinion."))
        return
    await query.answer()
    if message is not None:
        await message.answer(
            _("Your request for a review (复查) of the handling opinion was filed.")
            + "\n\n"
            + receipt_text(review.result),
            reply_markup=main_menu(),
        )


def build_router() -> Router:
    router = Router(name="mycases")
    router.callback_query.register(follow_up_button, CaseFollowUp.filter())
    router.message.register(
        rating_comment, StateFilter(RatingComment.writing), When(F.text & ~F.text.startswith("/"))
    )
    router.message.register(command_mycases, Command("mycases"))
    router.callback_query.register(menu_mycases, MenuAction.filter(F.action == "mycases"))
    router.callback_query.register(case_button, CaseAction.filter())
    router.message.register(
        material_text, StateFilter(AddingMaterial.waiting), When(F.text & ~F.text.startswith("/"))
    )
    router.message.register(
        material_file, StateFilter(AddingMaterial.waiting), When(F.photo | F.document | F.voice)
    )
    return router
