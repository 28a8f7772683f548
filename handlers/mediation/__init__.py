"""The mediation itself (issue 10): /mediate, the mediation page, the other party's link.

Handlers parse, call ``mediation`` (cases.mediation.service.Mediation, workflow data) and
render. Every button is authorised again by the service (the mediator of the case or, while
nobody accepted it, of its room; the room lead; the parties for their own answers): a forged
or forwarded button gets "not available" and changes nothing.

One module per flow: ``pages`` (texts, the page and its buttons, the form states, shared
helpers), ``parties`` (/mediate, consent, the other party's link), ``sessions`` (time, place,
attendance), ``outcome`` (agreement, failure, follow-up, extension); the routers are here.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart, StateFilter

from cases.mediation.parties import LINK_PREFIX
from handlers.filters import NotCommand, When
from handlers.mediation.outcome import (
    agreed_ask,
    extend_ask,
    extend_reason,
    extension_decision,
    failed_ask,
    failed_confirm,
    followup_choice,
    followup_no_note,
    followup_note,
    terms_text,
)
from handlers.mediation.pages import (
    MediationForm,
)
from handlers.mediation.parties import (
    command_mediate,
    consent,
    op_decide,
    op_name,
    op_phone,
    op_refuse_ask,
    op_refuse_confirm,
    open_page,
    refused_ask,
    refused_confirm,
    send_link,
    start_with_link,
)
from handlers.mediation.sessions import (
    attendance,
    rest_day_ok,
    same_place,
    session_ask,
    session_cancel,
    session_place,
    session_time,
)
from handlers.mediation_callbacks import MedAction, MediationButton

# -- routers -----------------------------------------------------------------------------------


def build_link_router() -> Router:
    """``/start op_<token>``: before the start router, which takes every other /start."""
    router = Router(name="mediation-link")
    router.message.register(
        start_with_link,
        CommandStart(deep_link=True, magic=F.args.startswith(LINK_PREFIX)),
    )
    return router


def build_router() -> Router:
    router = Router(name="mediation")
    router.message.register(command_mediate, Command("mediate"))
    on = MediationButton.filter
    router.callback_query.register(open_page, on(F.action == MedAction.open))
    router.callback_query.register(consent, on(F.action == MedAction.consent))
    router.callback_query.register(refused_ask, on(F.action == MedAction.refused))
    router.callback_query.register(refused_confirm, on(F.action == MedAction.refused_ok))
    router.callback_query.register(send_link, on(F.action == MedAction.link))
    router.callback_query.register(
        op_decide,
        StateFilter(MediationForm.op_decide),
        on(F.action.in_({MedAction.op_agree, MedAction.op_refuse}) & (F.item_id == 0)),
    )
    router.callback_query.register(op_refuse_ask, on(F.action == MedAction.op_refuse))
    router.callback_query.register(op_refuse_confirm, on(F.action == MedAction.op_refuse_ok))
    router.callback_query.register(
        session_ask, on(F.action.in_({MedAction.session, MedAction.move}))
    )
    router.callback_query.register(rest_day_ok, on(F.action == MedAction.rest_day_ok))
    router.callback_query.register(same_place, on(F.action == MedAction.same_place))
    router.callback_query.register(session_cancel, on(F.action == MedAction.cancel))
    router.callback_query.register(
        attendance, on(F.action.in_({MedAction.come, MedAction.cannot}))
    )
    router.callback_query.register(agreed_ask, on(F.action == MedAction.agreed))
    router.callback_query.register(failed_ask, on(F.action == MedAction.failed))
    router.callback_query.register(failed_confirm, on(F.action == MedAction.failed_ok))
    router.callback_query.register(
        followup_choice, on(F.action.in_({MedAction.kept, MedAction.broken}))
    )
    router.callback_query.register(followup_no_note, on(F.action == MedAction.no_note))
    router.callback_query.register(extend_ask, on(F.action == MedAction.extend))
    router.callback_query.register(
        extension_decision, on(F.action.in_({MedAction.approve, MedAction.refuse_ext}))
    )
    text = (When(F.text), NotCommand())
    for state, handler in (
        (MediationForm.op_name, op_name),
        (MediationForm.op_phone, op_phone),
        (MediationForm.session_time, session_time),
        (MediationForm.move_time, session_time),
        (MediationForm.session_place, session_place),
        (MediationForm.move_place, session_place),
        (MediationForm.terms, terms_text),
        (MediationForm.followup_note, followup_note),
        (MediationForm.ext_reason, extend_reason),
    ):
        router.message.register(handler, StateFilter(state), *text)
    return router
