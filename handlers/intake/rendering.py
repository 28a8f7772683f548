"""What a citizen reads while filing: the question with its buttons, the summary before
submitting, the edit list, and the receipt with the first deadline and the next steps."""

from __future__ import annotations

import html
from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_
from cases.intake.form_engine import (
    PROCEDURE_NAMES,
    Field,
    Kind,
    Procedure,
    choices_for,
    display_value,
    township_from_address,
)
from cases.intake.forms import PROVISIONAL_NOTE, RESIDENT_ID
from cases.intake.records import Draft, SavedDetails, SubmitResult
from cases.intake.service import IntakeService
from cases.intake.timeliness import timeliness
from cases.intake.validation import mask_id_number, mask_phone
from cases.law.deadline_rules import DeadlineEngine
from handlers.intake.callbacks import SUMMARY_VALUE_LIMIT, FormButton
from handlers.keyboards import button, grid
from handlers.texts import colon, current_locale, t

# --- rendering ---------------------------------------------------------------------------


def masked_details(details: SavedDetails) -> str:
    """Saved details as shown back to their owner: every part masked (the chat may be read
    over a shoulder, and a message stays on the phone)."""
    name = details.name[:1] + "*" * max(len(details.name) - 1, 1)
    address = details.address[:6] + ("…" if len(details.address) > 6 else "")
    return "\n".join(
        [
            f"• {html.escape(name)}",
            f"• {mask_id_number(details.id_number)}",
            f"• {mask_phone(details.phone)}",
            f"• {html.escape(address)}",
        ]
    )


def question_text(
    draft: Draft,
    field: Field,
    today: Any,
    *,
    engine: DeadlineEngine,
    saved: SavedDetails | None = None,
    org: Any = None,
) -> str:
    parts: list[str] = []
    if field.intro is not None:
        note = field.intro(draft.answers, today, engine)
        if note is not None:
            parts.append("⚠️ " + t(note.message, **note.params))
    if field.kind is Kind.saved and saved is not None:
        parts.append(t(field.prompt, details=masked_details(saved)))
    else:
        parts.append(_(field.prompt))
    if field.kind is Kind.township and org is not None:
        suggested = township_from_address(draft.answers, org)
        if suggested is not None:
            parts.append(
                t(
                    "Your address names {place}: press it to confirm, or choose another.",
                    place=html.escape(org.township(suggested).display_name(current_locale())),
                )
            )
    if field.why:
        parts.append(f"<i>{html.escape(_(field.why))}</i>")
    return "\n\n".join(parts)


def question_keyboard(
    draft: Draft, field: Field, service: IntakeService, files: int = 0
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    if field.kind is Kind.phone:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    buttons: list[InlineKeyboardButton] = []
    if field.kind is Kind.township:
        suggested = township_from_address(draft.answers, service.org)
        options = [value for value, _label in choices_for(field, service.org, "zh")]
        if suggested in options:
            place = service.org.township(suggested).display_name(current_locale())
            buttons.append(button("✅ " + place, pick(draft, field, options.index(suggested))))
    if field.kind is Kind.id_number and draft.answers.get("id_type", RESIDENT_ID) == RESIDENT_ID:
        buttons.append(
            button(
                _("Not a resident ID card"),
                FormButton(draft_id=draft.id, action="otherid", field=field.key),
            )
        )
    if field.default is not None:
        buttons.append(
            button(
                _(field.default.label),
                FormButton(draft_id=draft.id, action="default", field=field.key),
            )
        )
    if field.kind is Kind.yes_no:
        buttons += [
            button(_("Yes"), pick(draft, field, 0)),
            button(_("No"), pick(draft, field, 1)),
        ]
    elif field.kind in (Kind.choice, Kind.agency, Kind.township, Kind.category, Kind.saved):
        options = choices_for(field, service.org, current_locale())
        for index, (_value, label) in enumerate(options):
            text = _(label) if field.kind in (Kind.choice, Kind.saved) else label
            buttons.append(button(text, pick(draft, field, index)))
    elif field.kind is Kind.date:
        # The commonest answers as buttons; any other date is typed.
        buttons += [
            button(_("Today"), FormButton(draft_id=draft.id, action="date", field=field.key)),
            button(
                _("Yesterday"),
                FormButton(draft_id=draft.id, action="date", field=field.key, value=1),
            ),
        ]
    elif field.kind is Kind.evidence:
        buttons.append(
            button(
                _("✅ Done ({count} file(s))").format(count=files),
                FormButton(draft_id=draft.id, action="done", field=field.key),
            )
        )
    if field.optional:
        buttons.append(
            button(_("Skip"), FormButton(draft_id=draft.id, action="skip", field=field.key))
        )
    if not buttons:
        return None
    long_list = field.kind in (Kind.agency, Kind.township, Kind.category, Kind.date)
    if field.kind is Kind.township and buttons and buttons[0].text.startswith("✅"):
        # The township the address names on a row of its own, above the full list.
        rest = grid(buttons[1:], 2).inline_keyboard
        return InlineKeyboardMarkup(inline_keyboard=[[buttons[0]], *rest])
    return grid(buttons, 2 if long_list else 1)


def pick(draft: Draft, field: Field, index: int) -> FormButton:
    return FormButton(draft_id=draft.id, action="pick", field=field.key, value=index)


def summary_text(draft: Draft, service: IntakeService, files: int) -> str:
    locale = current_locale()
    lines = [f"<b>{html.escape(_(draft.spec.title))}</b>", _("Please check your answers:"), ""]
    for field in draft.spec.asked_fields(draft.answers):
        if field.key.startswith("_") or field.kind is Kind.evidence:
            continue  # the form's bookkeeping; files are counted below
        value = display_value(field, draft.answers.get(field.key), service.org, _, locale)
        if len(value) > SUMMARY_VALUE_LIMIT:
            value = value[: SUMMARY_VALUE_LIMIT - 1] + "…"
        lines.append(f"<b>{html.escape(_(field.label))}</b>{colon()}{html.escape(value)}")
    lines.append(
        f"<b>{html.escape(_('Evidence'))}</b>{colon()}"
        + html.escape(_("{count} file(s)").format(count=files))
    )
    lines.append(
        _(
            "To add evidence, send photos, documents (PDF, Word, Excel) or voice messages "
            "now, before you submit."
        )
    )
    if draft.procedure is Procedure.reconsideration:
        window = timeliness(draft.answers, service.today(), service.engine)
        if window.window_end is not None and not window.late:
            lines += [
                "",
                t(
                    "Time limit for applying: until {date} ({basis}).",
                    date=window.window_end,
                    basis=window.basis,
                ),
            ]
            if window.provisional:
                lines.append(_(PROVISIONAL_NOTE))
    lines += [
        "",
        _(
            "By pressing “Submit” you confirm that the above is true. After submission the "
            "application cannot be changed; you can add further material to the case."
        ),
    ]
    return "\n".join(lines)


def summary_keyboard(draft: Draft) -> InlineKeyboardMarkup:
    return grid(
        [
            button(_("✅ Submit"), FormButton(draft_id=draft.id, action="submit")),
            button(_("✏️ Change an answer"), FormButton(draft_id=draft.id, action="edit")),
            button(_("🗑 Discard"), FormButton(draft_id=draft.id, action="discard")),
        ]
    )


def edit_keyboard(draft: Draft) -> InlineKeyboardMarkup:
    # A gating answer is not offered: changing it means starting again (/cancel).
    return grid(
        [
            button(_(field.label), FormButton(draft_id=draft.id, action="field", field=field.key))
            for field in draft.spec.asked_fields(draft.answers)
            if field.gate is None and not field.key.startswith("_")
        ],
        2,
    )


NEXT_STEPS: dict[Procedure, str] = {
    Procedure.reconsideration: N_(
        "The reconsideration office will review your application and decide whether to accept "
        "it. If anything is missing, it will tell you once, in writing, everything to add."
    ),
    Procedure.petition: N_(
        "The petition office will register your petition and forward it to the body "
        "responsible, which will tell you in writing whether and how it will be handled."
    ),
    Procedure.mediation: N_(
        "The mediation room will contact you and the other side to arrange a session."
    ),
}


def receipt_text(result: SubmitResult) -> str:
    case = result.case
    lines = [
        t("✅ Your {procedure} has been received.", procedure=_(PROCEDURE_NAMES[case.procedure]))
        if result.created
        else _("This application was already submitted; here is its receipt again."),
        "",
        t("Case number: {number}", number=f"<code>{case.number}</code>"),
    ]
    if case.routed_to_name:
        lines.append(t("Handled by: {unit}", unit=html.escape(case.routed_to_name)))
    lines.append(t("Received on: {date}", date=case.received_on))
    lines += ["", _(NEXT_STEPS[case.procedure])]
    deadline = result.first_deadline
    if deadline is not None:
        from cases.law.deadline_rules import RULES

        lines.append(
            t(
                "{what}: by {date} ({basis}).",
                what=_(RULES[deadline.rule_id].title),
                date=deadline.due,
                basis="依据" + deadline.basis if current_locale() == "zh" else deadline.basis_en,
            )
        )
        if deadline.provisional:
            lines.append(_(PROVISIONAL_NOTE))
    if case.linked_number:
        lines += [
            "",
            t(
                "You already have an open case on the same matter ({number}). The two are "
                "linked and will be handled together (《信访工作条例》第十九条).",
                number=f"<code>{case.linked_number}</code>",
            ),
        ]
    lines += ["", _("You can follow your case at any time with /mycases.")]
    return "\n".join(lines)
