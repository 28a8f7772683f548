"""行政应诉 for staff: register a court case (/lawsuit), follow open cases (/lawsuits), record
who appeared at each hearing, and the year's 出庭 figures (/appearance).

Registering writes the L3 defence period and the L7 hearing that the reminder planner reads.
Administrators and office staff reach every handler (``HasRole``). An agency's liaison and
head see their own agency's open court cases (/lawsuits, read-only cards) and may record that
the defence was filed: they are the ones who file it. Anyone else falls through to the
fallback router, which says whose command it is.

One module and one Router per flow:

- ``registration`` – /lawsuit, the form and the receipt with the planner's reminders;
- ``cards``        – /lawsuits, a court case's card and its buttons, adding a hearing;
- ``appearance``   – recording who appeared at a hearing;
- ``statistics``   – /appearance, the year's figures;
- ``shared``       – filters, states, callback data and texts they all use.

The flows do not overlap (different commands, callback prefixes and FSM states), so their
order inside the ``litigation`` router does not matter.
"""

from __future__ import annotations

from aiogram import Router

from handlers.litigation import appearance, cards, registration, statistics
from handlers.litigation.shared import AppearanceButton, CaseButton, FormButton, LitigationForm

__all__ = ["AppearanceButton", "CaseButton", "FormButton", "LitigationForm", "build_router"]


def build_router() -> Router:
    """A new Router per call: a router belongs to one Dispatcher, and tests build many."""
    router = Router(name="litigation")
    router.include_routers(
        registration.build_router(),
        cards.build_router(),
        appearance.build_router(),
        statistics.build_router(),
    )
    return router
