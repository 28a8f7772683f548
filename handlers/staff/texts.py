"""What staff read on a case page and around its buttons: labels, prompts, confirmations and
the "done" lines per action (data; the Chinese is in locales/src/zh/staff.po)."""

from __future__ import annotations

from cases.i18n import N_
from cases.procedures.action_steps import (
    RECEIPT_BEFORE_ACCEPTANCE,
    RECEIPT_IN_FUTURE,
    REVIEW_PERIOD_ENDED,
)
from cases.procedures.actions import Action

ACTION_LABELS: dict[Action, str] = {
    Action.accept: N_("✅ Accept (受理)"),
    Action.refuse: N_("⛔ Do not accept (不予受理)"),
    Action.correct: N_("📝 Ask for more material (补正)"),
    Action.corrected: N_("📥 Material received (补正材料已收到)"),
    Action.extend: N_("⏳ Extend the time limit (延长)"),
    Action.suspend: N_("⏸ Suspend (中止)"),
    Action.resume: N_("▶️ Resume (恢复审理)"),
    Action.decide: N_("⚖️ Decision made (作出决定)"),
    Action.conclude: N_("📄 Handling opinion issued (出具处理意见)"),
    Action.agreed: N_("🤝 Agreement reached (调解成功)"),
    Action.failed: N_("✖️ No agreement (调解不成)"),
    Action.copy_sent: N_("📤 Copy sent to the respondent (申请书副本已发送)"),
    Action.extend_supply: N_("⏳ More time to supply material (延长补正期限)"),
    Action.deem_withdrawn: N_("🗂 Deemed withdrawn (视为放弃)"),
    Action.reply_received: N_("📬 Reply and evidence received (答复和证据已收到)"),
}
PETITION_ACCEPT = N_("✅ Accept / forward (受理·转送)")
PETITION_ACCEPT_BY_KIND: dict[str, str] = {
    # XF 29: suggestions go to the bodies concerned; XF 30: reports go to 纪检监察.
    "suggestion": N_("📨 Forward to the body concerned (转送有关机关)"),
    "report": N_("📨 Forward to the discipline inspection body (转纪检监察机关)"),
}
FORWARDED_DONE: dict[str, str] = {
    "competent_body": N_(
        "Done: the suggestion is forwarded to the body concerned; no handling-opinion time "
        "limit applies (Regulations on Letters and Visits Work, Art. 29). The petitioner is "
        "told."
    ),
    "discipline_body": N_(
        "Done: the report is forwarded to the discipline inspection and supervision body "
        "(Regulations on Letters and Visits Work, Art. 30). The petitioner is told, with "
        "nothing about the persons or the matter reported."
    ),
}
CONFIRM_TEXTS: dict[Action, str] = {
    Action.reply_received: N_(
        "Confirm: the respondent's written reply and evidence in case {number} arrived on "
        "paper today (Administrative Reconsideration Law, Art. 48)? The reply period closes and "
        "its reminders stop."
    ),
    Action.decide: N_("Confirm: the reconsideration decision in case {number} was made today?"),
    Action.conclude: N_(
        "Confirm: the written handling opinion in case {number} was issued today?"
    ),
    Action.agreed: N_("Confirm: the mediation in case {number} ended with an agreement today?"),
    Action.failed: N_("Confirm: the mediation in case {number} ended without an agreement?"),
    Action.deem_withdrawn: N_(
        "Confirm: the applicant in case {number} did not supply the material by {supply_due} "
        "and gave no good reason? The application is then deemed abandoned and the case "
        "closes (Administrative Reconsideration Law, Art. 31(2)). If there was a good reason, "
        "record the material as received instead."
    ),
}
ASK_TEXTS: dict[Action, str] = {
    Action.refuse: N_(
        "Case {number}: type the reason for not accepting the application. The applicant "
        "receives it (Administrative Reconsideration Law, Art. 30(2)). If the case is not "
        "within this body's jurisdiction, also name the reconsideration body that has it: the "
        "decision must tell the applicant."
    ),
    Action.correct: N_(
        "Case {number}: list in one message everything the applicant must supply or correct; "
        "only one such notice may be sent (Administrative Reconsideration Law, Art. 31(1)). "
        "The applicant gets 10 working days."
    ),
    Action.extend: N_(
        "Case {number}: type the reason for the extension. The applicant is told it, and you "
        "are recorded as the approver."
    ),
    Action.suspend: N_("Case {number}: type the reason for suspending. The applicant is told it."),
    Action.extend_supply: N_(
        "Case {number}: type the good reason why the applicant cannot supply the material in "
        "time. The applicant is told it, and you are recorded as the approver "
        "(Administrative Reconsideration Law, Art. 31(2))."
    ),
}
REASON_NOT_PENDING = N_(
    "Nothing was done: this button was for a typed reason that has since been replaced or "
    "set aside. Use the buttons under your latest reason, or choose the action again."
)
REASON_CONFIRM_TEXTS: dict[Action, str] = {
    Action.reply_received: N_(
        "Confirm: the respondent's written reply and evidence in case {number} arrived on "
        "paper today (Administrative Reconsideration Law, Art. 48)? The reply period closes and "
        "its reminders stop."
    ),
    Action.refuse: N_(
        "Case {number}: not accept the application, with this reason? The applicant receives "
        "it as written, and this cannot be undone.\n\n{reason}"
    ),
    Action.correct: N_(
        "Case {number}: send this request for material? Only one such notice may be sent.\n\n"
        "{reason}"
    ),
}
"""Irreversible actions on a typed text: the text is shown back and acts only when confirmed,
so a message typed later for something else (the prompt stays open) cannot refuse a case."""
COPY_SENT_ASK = N_(
    "Case {number}: on which day did the respondent receive the application copy? The "
    "respondent's reply period runs from that day ({days} working days, {basis}). Choose "
    "below or type the date."
)
ERROR_TEXTS = frozenset({REVIEW_PERIOD_ENDED, RECEIPT_IN_FUTURE, RECEIPT_BEFORE_ACCEPTANCE})
DONE_TEXTS: dict[Action, str] = {
    Action.accept: N_("Done: the case is accepted. The applicant is told."),
    Action.refuse: N_("Done: the application is not accepted. The applicant is told."),
    Action.correct: N_(
        "Done: the applicant is asked for the material, by {supply_due}. The acceptance review "
        "is paused."
    ),
    Action.corrected: N_("Done: a new acceptance review runs until {review_due}."),
    Action.extend: N_("Done: the time limit now ends on {new_due}. The applicant is told."),
    Action.suspend: N_("Done: the case is suspended. The applicant is told."),
    Action.resume: N_("Done: handling resumed; the decision is due by {decision_due}."),
    Action.decide: N_(
        "Done: the decision is recorded. The applicant is told that they may sue within 15 days."
    ),
    Action.conclude: N_(
        "Done: the handling opinion is recorded. The petitioner is told that they may ask for "
        "a review within 30 days."
    ),
    Action.agreed: N_(
        "Done: the agreement is recorded; judicial confirmation is due by {confirm_due}."
    ),
    Action.failed: N_("Done: the mediation is closed. The applicant is told the other routes."),
    Action.copy_sent: N_(
        "Done: the respondent received the copy on {received_on}; its written reply is due "
        "by {reply_due}. The respondent's liaison is reminded."
    ),
    Action.extend_supply: N_("Done: the material is now due by {new_due}. The applicant is told."),
    Action.deem_withdrawn: N_(
        "Done: the application is deemed abandoned and recorded. The applicant is told."
    ),
    Action.reply_received: N_(
        "Done: the respondent's written reply and evidence are recorded as received; the reply "
        "period is closed and its reminders stop."
    ),
}
ALREADY_TEXT = N_("This was already done, or the case has moved on. Here is its current state.")
NOT_AVAILABLE = N_("This case is not available to you.")
