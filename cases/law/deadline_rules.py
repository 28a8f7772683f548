"""Statutory deadlines as data, and the engine that computes them on the legal calendar.

Every rule of domain.md with a fixed period is one row of :data:`RULES`: who must act, what
starts it, the unit and count, the simplified-procedure variant, the extension allowance, the
article, and what happens when it is missed. ``DeadlineEngine.compute(rule_id, trigger)``
applies the counting rules C1–C6 of :mod:`cases.law.calendar`. bot.py builds one engine (the
configured calendar and local periods) and hands it to every service that counts; there is no
process-wide engine.

Rule ids are those of domain.md (X1–X8, F1–F17, L1–L9). Ids invented here:

=======  ==============================================================================
X3a      X3's objection: a body that is not competent objects within 5 WD (XF 23(3))
F3R      F3 for real property (不动产): 20 years instead of 5 (FY 21)
F16a     附带审查: the 复议机关 handles the normative document within 30 CD (FY 56, 57)
F16b     附带审查: it forwards the document to the competent body within 7 WD (FY 56, 57)
F16c     附带审查: the 复议机构 notifies the issuing body within 3 WD of the 中止 (FY 58)
F16d     附带审查: the issuing body replies within 10 WD of the notice (FY 58)
F16e     附带审查: the body receiving a forwarded document replies within 60 CD (FY 60)
F17      中止 under FY 39(1)(1),(2),(4): after 60 CD with the cause persisting → 终止 (FY 41(5));
         the pause itself is a clock pause (``cases.procedures.case_clocks``), not a deadline
L8a      appeal decided within 3 M (XS 88); L8 itself is first instance, 6 M / simplified 45 CD
L9a      appeal against a ruling (裁定): 10 CD (XS 85); L9 is the judgment's 15 CD
LP1      plaintiff window, direct suit: 6 M from knowing the act (XS 46(1))
LP2      plaintiff window when not told of the right to sue: cap 1 year (XSJS 64)
LP3      plaintiff long stop: 5 years from the act (XS 46(2)); LP3R real property: 20 years
LP4      inaction: the agency's 2 M after the request, then LP1 runs (XS 47)
M1       mediation agreement: joint application for 司法确认 within 30 CD (民事诉讼法 205)
M2-M6    court online mediation (ZXTJ 10, 12, 24): choose mediator 2 WD, court appoints 3 WD,
         mediator confirms 3 WD, pre-filing period 30 CD, post-filing 15 CD / simplified 7 CD
MA       行政调解: no national period; the county's own rule (:class:`AdminMediationPeriod`,
         default 30 CD from acceptance, extendable once with the room lead's approval)
=======  ==============================================================================

Not in the table: F4's second branch (emergencies, no limit) and L7 (the hearing itself is an
event set by the court, kept in ``hearings``, not a period).

Interpretations (⚠ in domain.md):

- C8: the 信访工作条例's plain "15日/30日/60日" are calendar days; :class:`LocalPeriods` lets a
  deployment switch them to working days and change the figures (e.g. Zhejiang).
- F11 and L6 count **backwards** from the hearing (``direction="before"``): the result is the
  latest day the notice may be given, H − n, counted like C1 in reverse (the notice day
  excluded, the hearing day included: notice on day D satisfies "n days before" when
  D + n = H). Some courts read "三日前" as three clear days between; that would be one day
  earlier. A result on a rest day moves **back** to the previous working day, so the minimum
  notice is never shortened (C4 is a rule for periods running forward).
- F6 missed: the acceptance review keeps running and, when it ends, the application is deemed
  accepted (FY 30(3)); the law states no separate consequence.
- L6 rests on CTGD 5, read through secondary sources only.
- M1 missed: under MS 205 the joint application must be made within 30 CD; a late one is not
  accepted, but the agreement keeps binding the parties.
- The units of ZXTJ's "30/15/7日" are calendar days (MS rules apply); its working days are
  written as such.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from cases.i18n import N_
from cases.law.calendar import Counted, LegalCalendar

Procedure = Literal["petition", "reconsideration", "litigation", "mediation"]
Actor = Literal[
    "petition_office",
    "agency",
    "applicant",
    "petitioner",
    "reconsideration_office",
    "respondent",
    "court",
    "defendant",
    "agency_head",
    "parties",
    "mediator",
]
Direction = Literal["after", "before"]
PauseReason = Literal["correction", "suspension", "hearing", "inspection", "appraisal"]
"""Why a clock stands still: 补正 (F6/F7, FYSS 29), 中止 (F17, FY 39), 听证 in 复核 (X8, XF
36(2)), 现场勘验 (FYSS 34), 鉴定评估 in pre-filing online mediation (ZXTJ 26)."""


class Unit(StrEnum):
    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"
    MONTHS = "months"
    YEARS = "years"


class UnknownRule(ValueError):
    """A rule id that is not in the table."""


class NoPeriodConfigured(ValueError):
    """The rule has no statutory period and the deployment set none (行政调解, MA)."""


@dataclass(frozen=True, slots=True)
class Law:
    zh: str
    en: str


LAWS: Mapping[str, Law] = {
    "XF": Law("信访工作条例", "Regulations on Letters and Visits Work"),
    "FY": Law("行政复议法", "Administrative Reconsideration Law"),
    "FYSS": Law(
        "行政复议法实施条例",
        "Regulations for the Implementation of the Administrative Reconsideration Law",
    ),
    "XS": Law("行政诉讼法", "Administrative Litigation Law"),
    # Inside 《》 a nested title takes 〈〉 (GB/T 15834).
    "XSJS": Law(
        "最高人民法院关于适用〈中华人民共和国行政诉讼法〉的解释",
        "SPC Interpretation on Applying the Administrative Litigation Law",
    ),
    "CTGD": Law(
        "最高人民法院关于行政机关负责人出庭应诉若干问题的规定",
        "SPC Provisions on Heads of Administrative Agencies Appearing in Court",
    ),
    # Only for cases handed to a 人民调解委员会; the county's 行政调解室 do 行政调解 (domain §5
    # "Which law to cite"): not their basis.
    "TJ": Law("人民调解法", "People's Mediation Law"),
    "MS": Law("民事诉讼法", "Civil Procedure Law"),
    "ZXTJ": Law("人民法院在线调解规则", "Online Mediation Rules of the People's Courts"),
}

_DIGITS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """1..9999 in Chinese numerals as article numbers are written: 30 → 三十, 101 → 一百零一,
    110 → 一百一十, 129 → 一百二十九."""
    if not 0 < n < 10000:
        raise ValueError(f"article number out of range: {n}")
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    parts: list[str] = []
    zero_pending = False
    for value, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit:
            if zero_pending:
                parts.append("零")
            parts.append(_DIGITS[digit] + name)
            zero_pending = False
        elif parts:
            zero_pending = True
    return "".join(parts)


@lru_cache(maxsize=256)
def citation(law: str, article: str) -> tuple[str, str]:
    """《行政复议法》第三十条 / Administrative Reconsideration Law, Art. 30."""
    entry = LAWS[law]
    return (
        f"《{entry.zh}》第{chinese_numeral(int(article))}条",
        f"{entry.en}, Art. {int(article)}",
    )


@dataclass(frozen=True, slots=True)
class Extension:
    """How far a period may be extended, and who approves.

    ``max_count`` None: the law sets no cap (F7 "合理的补正期限"; ZXTJ 24 "各方当事人同意延长的，
    不受此限"); an approver is still required and the extension is still recorded.
    The unit is always the rule's own unit.
    """

    max_count: int | None
    approver_roles: frozenset[str]
    """``users.role`` values allowed to approve, and ``reconsideration_head`` for office staff
    flagged as the head of the 复议机构 (``users.heads_reconsideration``, FY 62(1))."""
    tell: str
    """Who must be told (the handler notifies them from the 'deadline_extended' event)."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    procedure: Procedure
    actor: Actor
    trigger: str  # English msgid: what starts the period
    unit: Unit
    count: int | None
    law: str
    article: str
    title: str  # English msgid: what is due
    effect_when_missed: str  # English msgid
    simplified_count: int | None = None
    simplified_unit: Unit | None = None
    simplified_article: str | None = None
    extension: Extension | None = None
    direction: Direction = "after"
    pausable: frozenset[PauseReason] = frozenset()
    restart_on_resume: frozenset[PauseReason] = frozenset()
    """Pause reasons after which the period restarts in full from the resume date instead of
    continuing (F5 after 补正: "收到补正材料后，依照本法第三十条的规定处理", FY 31(3))."""
    local_citation: tuple[str, str] | None = None
    """For periods set by local rules (MA): the citation (zh, en) given in the settings."""

    @property
    def basis(self) -> str:
        return (
            self.local_citation[0] if self.local_citation else citation(self.law, self.article)[0]
        )

    @property
    def basis_en(self) -> str:
        return (
            self.local_citation[1] if self.local_citation else citation(self.law, self.article)[1]
        )

    def period(self, simplified: bool) -> tuple[Unit, int, str, bool]:
        """(unit, count, article, simplified applied) for the ordinary or simplified procedure."""
        if self.count is None:
            raise NoPeriodConfigured(f"rule {self.id} has no period configured")
        if simplified and self.simplified_count is not None:
            return (
                self.simplified_unit or self.unit,
                self.simplified_count,
                self.simplified_article or self.article,
                True,
            )
        return self.unit, self.count, self.article, False


# -- texts shared by several rules ------------------------------------------------------------

_SUPERIOR = N_(
    "The superior body orders correction; serious cases lead to disciplinary action against "
    "those responsible."
)
_NOT_ACCEPTED = N_("A late reconsideration application is not accepted.")
_RIGHT_TO_SUE_LOST = N_("The right to sue is lost.")
_NO_SANCTION = N_("The law states no specific consequence.")
_DECISION_LATE = N_(
    "The applicant may sue within 15 days after the period ends, or complain to the superior "
    "body, which orders correction or takes over the case; those responsible may be "
    "disciplined."
)
_ONLINE_MEDIATION_ENDS = N_(
    "Without an agreement, and unless all parties agree to extend, the online mediation ends."
)
_APPLY_RECONSIDERATION = N_("Apply for administrative reconsideration")
_FILE_SUIT = N_("File an administrative lawsuit")
_KNEW_OF_ACT = N_("The day the applicant knew or should have known of the act")
_ACT_MADE = N_("The day the act was made")
_ACCEPTANCE = N_("Acceptance of the reconsideration application")
_RECEIPT_OF_APPLICATION = N_("Receipt of the reconsideration application")

_OFFICE_APPROVAL = frozenset({"office_staff", "admin"})
RECONSIDERATION_HEAD = "reconsideration_head"
"""Not a ``users.role``: office staff flagged ``heads_reconsideration`` (FY 62(1): the
extension of the decision period is approved by the head of the reconsideration body)."""
_HEAD_APPROVAL = frozenset({RECONSIDERATION_HEAD, "admin"})
ROOM_LEAD = "room_lead"
"""Not a ``users.role``: a mediator flagged ``leads_room`` (调解室负责人), who alone approves the
one extension of the county's mediation period (MA)."""

# One row per rule: id, procedure, actor, trigger, unit, count, law, article, title, effect.
# fmt: off
RULES_TABLE: tuple[Rule, ...] = (
    # ---- 信访 (XF 2022). Figures are national defaults, overridden by LocalPeriods (C8 ⚠).
    Rule(
        "X1", "petition", "petition_office",
        N_("Receipt of the petition matter by the petition office"),
        Unit.CALENDAR_DAYS, 15, "XF", "22",
        N_("Forward or assign the petition matter to the competent body"),
        _SUPERIOR,
    ),
    Rule(
        "X2", "petition", "agency",
        N_("Direct receipt of the petition matter by the agency"),
        Unit.CALENDAR_DAYS, 15, "XF", "23",
        N_("Tell the petitioner in writing whether the matter is accepted"),
        _SUPERIOR,
    ),
    Rule(
        "X3", "petition", "agency",
        N_("Receipt of a forwarded or assigned petition matter"),
        Unit.CALENDAR_DAYS, 15, "XF", "23",
        N_("Tell the petitioner in writing that the forwarded matter was received"),
        _SUPERIOR,
    ),
    Rule(
        "X3a", "petition", "agency",
        N_("Receipt of a forwarded or assigned petition matter"),
        Unit.WORKING_DAYS, 5, "XF", "23",
        N_("Object to a forwarded matter outside the agency's competence, with reasons"),
        N_("Without a timely objection, the receiving agency must handle the matter."),
    ),
    Rule(
        "X4", "petition", "agency",
        N_("Acceptance of the petition matter"),
        Unit.CALENDAR_DAYS, 60, "XF", "34",
        N_("Conclude the petition matter and issue the written handling opinion"),
        _SUPERIOR,
        extension=Extension(30, frozenset({"agency_head", "admin"}), "petitioner"),
    ),
    Rule(
        "X5", "petition", "petitioner",
        N_("Receipt of the written handling opinion"),
        Unit.CALENDAR_DAYS, 30, "XF", "35",
        N_("Request a review of the handling opinion from the next-higher body"),
        N_("A late request for review is generally no longer taken up."),
    ),
    Rule(
        "X6", "petition", "agency",
        N_("Receipt of the request for review"),
        Unit.CALENDAR_DAYS, 30, "XF", "35",
        N_("Issue the review opinion with a written reply"),
        _SUPERIOR,
    ),
    Rule(
        "X7", "petition", "petitioner",
        N_("Receipt of the written review opinion"),
        Unit.CALENDAR_DAYS, 30, "XF", "36",
        N_("Request a re-review of the review opinion from the next-higher body"),
        N_("A late request for re-review is generally no longer taken up."),
    ),
    Rule(
        "X8", "petition", "agency",
        N_("Receipt of the request for re-review"),
        Unit.CALENDAR_DAYS, 30, "XF", "36",
        N_("Issue the re-review opinion"),
        _SUPERIOR,
        pausable=frozenset({"hearing"}),  # XF 36(2): 听证所需时间不计算在内
    ),
    # ---- 行政复议 (FY 2023). C6: 3/5/7/10 days are working days; all others calendar days.
    Rule(
        "F1", "reconsideration", "applicant", _KNEW_OF_ACT,
        Unit.CALENDAR_DAYS, 60, "FY", "20", _APPLY_RECONSIDERATION, _NOT_ACCEPTED,
    ),
    Rule(
        "F2", "reconsideration", "applicant", _KNEW_OF_ACT,
        Unit.YEARS, 1, "FY", "20",
        N_("Apply for reconsideration when not told of the right: at most one year"),
        _NOT_ACCEPTED,
    ),
    Rule(
        "F3", "reconsideration", "applicant", _ACT_MADE,
        Unit.YEARS, 5, "FY", "21",
        N_("Apply for reconsideration: five-year long stop"),
        _NOT_ACCEPTED,
    ),
    Rule(
        "F3R", "reconsideration", "applicant", _ACT_MADE,
        Unit.YEARS, 20, "FY", "21",
        N_("Apply for reconsideration concerning real property: twenty-year long stop"),
        _NOT_ACCEPTED,
    ),
    Rule(
        "F4", "reconsideration", "agency",
        N_("Receipt of the request to perform a statutory duty (no statutory period)"),
        Unit.CALENDAR_DAYS, 60, "FYSS", "16",
        N_("Perform the requested statutory duty"),
        N_("The applicant may apply for reconsideration of the inaction from the next day."),
    ),
    Rule(
        "F5", "reconsideration", "reconsideration_office", _RECEIPT_OF_APPLICATION,
        Unit.WORKING_DAYS, 5, "FY", "30",
        N_("Acceptance review of the reconsideration application"),
        N_(
            "The application is deemed accepted on the day the review period ends; the "
            "applicant may complain to the superior body."
        ),
        pausable=frozenset({"correction"}),
        restart_on_resume=frozenset({"correction"}),
    ),
    Rule(
        "F6", "reconsideration", "reconsideration_office", _RECEIPT_OF_APPLICATION,
        Unit.WORKING_DAYS, 5, "FY", "31",
        N_("Send one written notice listing everything to be corrected"),
        N_(
            "The acceptance review keeps running; when it ends the application is deemed "
            "accepted."
        ),
    ),
    Rule(
        "F7", "reconsideration", "applicant",
        N_("Receipt of the notice to correct the application"),
        Unit.WORKING_DAYS, 10, "FY", "31",
        N_("Supply the corrected or missing materials"),
        N_("Without a good reason, the application is deemed abandoned."),
        extension=Extension(None, _OFFICE_APPROVAL, "applicant"),  # "合理的补正期限"
    ),
    Rule(
        "F8", "reconsideration", "agency",
        N_("Receipt of the application by the penalising agency"),
        Unit.WORKING_DAYS, 5, "FY", "32",
        N_("Forward the application to the reconsideration body"),
        _NO_SANCTION,
    ),
    Rule(
        "F9", "reconsideration", "reconsideration_office", _ACCEPTANCE,
        Unit.WORKING_DAYS, 7, "FY", "48",
        N_("Send the application copy to the respondent"),
        N_("Those responsible may be disciplined."),
        simplified_count=3, simplified_article="54",
        pausable=frozenset({"suspension"}),
    ),
    Rule(
        "F10", "reconsideration", "respondent",
        N_("Receipt of the application copy by the respondent"),
        Unit.WORKING_DAYS, 10, "FY", "48",
        N_("File the written reply with the evidence, legal basis and other materials"),
        N_(
            "The act is deemed to have no evidence or legal basis and is revoked, declared "
            "illegal or void, or performance is ordered, unless a third party supplies "
            "evidence; those responsible may be disciplined."
        ),
        simplified_count=5, simplified_article="54",
        pausable=frozenset({"suspension"}),
    ),
    Rule(
        "F11", "reconsideration", "reconsideration_office",
        N_("The hearing day"),
        Unit.WORKING_DAYS, 5, "FY", "51",
        N_("Notify the parties in writing of the hearing's time, place and matters"),
        N_("The hearing should be rescheduled so that the parties get the full notice."),
        direction="before",
    ),
    Rule(
        "F12", "reconsideration", "reconsideration_office", _ACCEPTANCE,
        Unit.CALENDAR_DAYS, 60, "FY", "62",
        N_("Decide the reconsideration case"),
        _DECISION_LATE,
        simplified_count=30,
        extension=Extension(30, _HEAD_APPROVAL, "parties"),
        pausable=frozenset({"correction", "suspension", "inspection"}),
    ),
    Rule(
        "F13", "reconsideration", "reconsideration_office", _ACCEPTANCE,
        Unit.CALENDAR_DAYS, 30, "FY", "62",
        N_("Decide the reconsideration case (simplified procedure)"),
        _DECISION_LATE,
        pausable=frozenset({"correction", "suspension", "inspection"}),
    ),
    Rule(
        "F14", "reconsideration", "agency",
        N_("Receipt of the reconsideration opinion letter"),
        Unit.CALENDAR_DAYS, 60, "FY", "76",
        N_("Report the corrections made to the reconsideration body"),
        N_(
            "The reconsideration body or the superior body orders performance by a set date "
            "and may summon the heads or issue a public criticism."
        ),
    ),
    Rule(
        "F15", "reconsideration", "applicant",
        N_("Receipt of the reconsideration decision, or the end of the decision period"),
        Unit.CALENDAR_DAYS, 15, "XS", "45",
        N_("File an administrative lawsuit after reconsideration"),
        _RIGHT_TO_SUE_LOST,
    ),
    Rule(
        "F16a", "reconsideration", "reconsideration_office",
        N_("Request for, or finding of, an unlawful normative document"),
        Unit.CALENDAR_DAYS, 30, "FY", "56",
        N_("Handle the normative document under incidental review"),
        _NO_SANCTION,
    ),
    Rule(
        "F16b", "reconsideration", "reconsideration_office",
        N_("Request for, or finding of, an unlawful normative document"),
        Unit.WORKING_DAYS, 7, "FY", "56",
        N_("Forward the normative document to the body competent to handle it"),
        _NO_SANCTION,
    ),
    Rule(
        "F16c", "reconsideration", "reconsideration_office",
        N_("Suspension of the reconsideration for the document review"),
        Unit.WORKING_DAYS, 3, "FY", "58",
        N_("Notify the issuing body in writing to reply on the document's legality"),
        _NO_SANCTION,
    ),
    Rule(
        "F16d", "reconsideration", "agency",
        N_("Receipt of the written notice by the issuing body"),
        Unit.WORKING_DAYS, 10, "FY", "58",
        N_("File the issuing body's written reply and materials"),
        _NO_SANCTION,
    ),
    Rule(
        "F16e", "reconsideration", "agency",
        N_("Receipt of the forwarded normative document"),
        Unit.CALENDAR_DAYS, 60, "FY", "60",
        N_("Send the handling opinion back to the reconsideration body"),
        _NO_SANCTION,
    ),
    Rule(
        "F17", "reconsideration", "reconsideration_office",
        N_("Suspension for death, incapacity or the end of an organisation"),
        Unit.CALENDAR_DAYS, 60, "FY", "41",
        N_("Terminate the reconsideration if the cause of suspension persists"),
        N_("The reconsideration is terminated."),
    ),
    # ---- 行政诉讼 / 行政应诉 (XS 2017, XSJS 2018)
    Rule(
        "L1", "litigation", "court", N_("Receipt of the complaint by the court"),
        Unit.CALENDAR_DAYS, 7, "XS", "51",
        N_("Decide whether to register the case"), _NO_SANCTION,
    ),
    Rule(
        "L2", "litigation", "court", N_("Registration of the case"),
        Unit.CALENDAR_DAYS, 5, "XS", "67",
        N_("Send the complaint copy to the defendant"), _NO_SANCTION,
    ),
    Rule(
        "L3", "litigation", "defendant", N_("Receipt of the complaint copy"),
        Unit.CALENDAR_DAYS, 15, "XS", "67",
        N_("File the evidence, the normative documents relied on and the defence"),
        N_(
            "Evidence not filed, or filed late without a good reason, counts as no evidence; "
            "a missing defence does not stop the trial."
        ),
    ),
    Rule(
        "L4", "litigation", "defendant",
        N_("End of the obstacle for which the court allowed later evidence"),
        Unit.CALENDAR_DAYS, 15, "XSJS", "34",
        N_("Produce the evidence the court allowed to be filed later"),
        N_("Late evidence counts as no evidence."),
    ),
    Rule(
        "L5", "litigation", "court", N_("Receipt of the defence by the court"),
        Unit.CALENDAR_DAYS, 5, "XS", "67",
        N_("Send the defence copy to the plaintiff"), _NO_SANCTION,
    ),
    Rule(
        "L6", "litigation", "court", N_("The hearing day"),
        Unit.CALENDAR_DAYS, 3, "CTGD", "5",
        N_("Serve the appearance notice on the agency head"), _NO_SANCTION,
        direction="before",
    ),
    Rule(
        "L8", "litigation", "court", N_("Registration of the case"),
        Unit.MONTHS, 6, "XS", "81",
        N_("Conclude the first-instance trial"), _NO_SANCTION,
        simplified_count=45, simplified_unit=Unit.CALENDAR_DAYS, simplified_article="83",
    ),
    Rule(
        "L8a", "litigation", "court", N_("Receipt of the appeal"),
        Unit.MONTHS, 3, "XS", "88",
        N_("Decide the appeal"), _NO_SANCTION,
    ),
    Rule(
        "L9", "litigation", "parties", N_("Service of the first-instance judgment"),
        Unit.CALENDAR_DAYS, 15, "XS", "85",
        N_("Appeal against the first-instance judgment"),
        N_("The judgment or ruling becomes final."),
    ),
    Rule(
        "L9a", "litigation", "parties", N_("Service of the first-instance ruling"),
        Unit.CALENDAR_DAYS, 10, "XS", "85",
        N_("Appeal against the first-instance ruling"),
        N_("The judgment or ruling becomes final."),
    ),
    Rule(
        "LP1", "litigation", "applicant", _KNEW_OF_ACT,
        Unit.MONTHS, 6, "XS", "46", _FILE_SUIT, _RIGHT_TO_SUE_LOST,
    ),
    Rule(
        "LP2", "litigation", "applicant", _KNEW_OF_ACT,
        Unit.YEARS, 1, "XSJS", "64",
        N_("File a lawsuit when not told of the right to sue: at most one year"),
        _RIGHT_TO_SUE_LOST,
    ),
    Rule(
        "LP3", "litigation", "applicant", _ACT_MADE,
        Unit.YEARS, 5, "XS", "46",
        N_("File a lawsuit: five-year long stop"), _RIGHT_TO_SUE_LOST,
    ),
    Rule(
        "LP3R", "litigation", "applicant", _ACT_MADE,
        Unit.YEARS, 20, "XS", "46",
        N_("File a lawsuit concerning real property: twenty-year long stop"),
        _RIGHT_TO_SUE_LOST,
    ),
    Rule(
        "LP4", "litigation", "agency",
        N_("Receipt of the request to perform a statutory duty (no statutory period)"),
        Unit.MONTHS, 2, "XS", "47",
        N_("Perform the requested statutory duty"),
        N_("The applicant may sue the agency for inaction."),
    ),
    # ---- 调解
    Rule(
        "M1", "mediation", "parties",
        N_("The day the mediation agreement takes effect"),
        Unit.CALENDAR_DAYS, 30, "MS", "205",
        N_("Apply jointly to the court for judicial confirmation of the agreement"),
        # Not "the agreement still binds the parties": that is 人民调解法 Art 31, not the
        # basis of the county's 行政调解 (domain §5 "Which law to cite").
        N_(
            "A late application for judicial confirmation may not be accepted; whether an "
            "agreement reached in administrative mediation can be confirmed is for the court "
            "to decide."
        ),
    ),
    Rule(
        "M2", "mediation", "parties",
        N_("The day the parties agreed to online mediation"),
        Unit.WORKING_DAYS, 2, "ZXTJ", "10",
        N_("Choose the mediation organisation or mediator jointly"),
        N_("The court appoints the mediation organisation or mediator."),
    ),
    Rule(
        "M3", "mediation", "court",
        N_("Receipt of the online mediation application by the court"),
        Unit.WORKING_DAYS, 3, "ZXTJ", "10",
        N_("Appoint the mediation organisation or mediator"), _NO_SANCTION,
    ),
    Rule(
        "M4", "mediation", "mediator",
        N_("Receipt of the mediation assignment or application"),
        Unit.WORKING_DAYS, 3, "ZXTJ", "12",
        N_("Confirm acceptance of the mediation"),
        N_("The court or the parties may appoint or choose another mediator."),
    ),
    Rule(
        "M5", "mediation", "mediator", N_("The mediator's confirmation of acceptance"),
        Unit.CALENDAR_DAYS, 30, "ZXTJ", "24",
        N_("Conclude the pre-filing online mediation"), _ONLINE_MEDIATION_ENDS,
        extension=Extension(None, frozenset({"mediator", "admin"}), "parties"),
        pausable=frozenset({"appraisal"}),  # ZXTJ 26: 鉴定评估期限不计入调解期限
    ),
    Rule(
        "M6", "mediation", "mediator", N_("The mediator's confirmation of acceptance"),
        Unit.CALENDAR_DAYS, 15, "ZXTJ", "24",
        N_("Conclude the post-filing online mediation"), _ONLINE_MEDIATION_ENDS,
        simplified_count=7,
        extension=Extension(None, frozenset({"mediator", "admin"}), "parties"),
    ),
    Rule(
        "MA", "mediation", "mediator", N_("Acceptance of the administrative mediation request"),
        Unit.WORKING_DAYS, None, "LOCAL", "0",  # no national period: set by LocalPeriods
        N_("Conclude the administrative mediation"),
        N_("Handle it as the local rules on administrative mediation provide."),
        local_citation=("本地行政调解规定", "local rules on administrative mediation"),
    ),
)

# fmt: on

RULES: Mapping[str, Rule] = {rule.id: rule for rule in RULES_TABLE}
"""The statutory table with the national defaults (before :class:`LocalPeriods`)."""


# -- local settings ---------------------------------------------------------------------------


COUNTY_MEDIATION_BASIS = "谷城县行政调解期限（县定期限，非法律规定）"
COUNTY_MEDIATION_BASIS_EN = "Gucheng County mediation period (set by the county, not a statute)"


class AdminMediationPeriod(BaseModel):
    """A local 行政调解 period: the county's own rule, not a statute (domain §5: no national
    period exists). :data:`COUNTY_MEDIATION_PERIOD` is the default: 30 calendar days from
    acceptance, extended once by 30 days with the room lead's approval (``users.leads_room``).

    Example, after Beijing's 2014 draft (10 WD, at most 15 WD; ⚠ final text not checked):
    ``AdminMediationPeriod(unit="working_days", count=10, extension=5, basis="《××市行政调解
    办法》第×条", basis_en="Local Administrative Mediation Measures, Art. ×")``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: Literal[Unit.CALENDAR_DAYS, Unit.WORKING_DAYS] = Unit.WORKING_DAYS
    count: PositiveInt
    extension: int | None = Field(default=None, ge=1)
    """The one extension, in ``unit``: granted whole, once (cases.mediation.period)."""
    basis: str = "本地行政调解规定"
    basis_en: str = "local rules on administrative mediation"


COUNTY_MEDIATION_PERIOD = AdminMediationPeriod(
    unit=Unit.CALENDAR_DAYS,
    count=30,
    extension=30,
    basis=COUNTY_MEDIATION_BASIS,
    basis_en=COUNTY_MEDIATION_BASIS_EN,
)
"""The county's default: 30 calendar days from acceptance, extended once by 30 days."""


class LocalPeriods(BaseModel):
    """Periods the law leaves to local rules, with the national defaults (XF 2022).

    No Hubei 信访 regulation was found (domain §9.1), so a deployment may change the figures and
    even the unit of the plain "日" (C8 ⚠; Zhejiang writes working days).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    petition_unit: Literal[Unit.CALENDAR_DAYS, Unit.WORKING_DAYS] = Unit.CALENDAR_DAYS
    x1_days: PositiveInt = 15  # XF 22
    x2_days: PositiveInt = 15  # XF 23(1)
    x3_days: PositiveInt = 15  # XF 23(3)
    x3_objection_working_days: PositiveInt = 5  # XF 23(3): explicitly 工作日
    x4_days: PositiveInt = 60  # XF 34
    x4_extension_days: PositiveInt = 30  # XF 34
    x5_days: PositiveInt = 30  # XF 35
    x6_days: PositiveInt = 30  # XF 35
    x7_days: PositiveInt = 30  # XF 36
    x8_days: PositiveInt = 30  # XF 36
    admin_mediation: AdminMediationPeriod | None = COUNTY_MEDIATION_PERIOD
    """行政调解: no national period; the county's own (30 CD from acceptance, one extension).
    None = no deadline is computed (compute raises :class:`NoPeriodConfigured`)."""

    def apply(self, rules: Mapping[str, Rule]) -> dict[str, Rule]:
        """The table with these settings applied (the statutory rows are never mutated)."""
        out = dict(rules)
        for rule_id, count in (
            ("X1", self.x1_days),
            ("X2", self.x2_days),
            ("X3", self.x3_days),
            ("X4", self.x4_days),
            ("X5", self.x5_days),
            ("X6", self.x6_days),
            ("X7", self.x7_days),
            ("X8", self.x8_days),
        ):
            out[rule_id] = dataclasses.replace(out[rule_id], unit=self.petition_unit, count=count)
        out["X3a"] = dataclasses.replace(out["X3a"], count=self.x3_objection_working_days)
        x4 = out["X4"]
        assert x4.extension is not None
        out["X4"] = dataclasses.replace(
            x4, extension=dataclasses.replace(x4.extension, max_count=self.x4_extension_days)
        )
        if self.admin_mediation is not None:
            period = self.admin_mediation
            out["MA"] = dataclasses.replace(
                out["MA"],
                unit=period.unit,
                count=period.count,
                local_citation=(period.basis, period.basis_en),
                extension=(
                    Extension(period.extension, frozenset({ROOM_LEAD}), "parties")
                    if period.extension
                    else None
                ),
            )
        return out


# -- results and the engine ---------------------------------------------------------------------


class Deadline(BaseModel):
    """One computed deadline. ``provisional``: a day consulted lay outside the calendar data,
    so the date was counted on Monday–Friday and must be shown as provisional."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    trigger: date
    due: date
    provisional: bool
    basis: str
    basis_en: str
    unit: Unit
    count: int
    simplified: bool
    direction: Direction
    actor: Actor
    title: str
    effect_when_missed: str


def count_period(
    calendar: LegalCalendar, unit: Unit, start: date, n: int, direction: Direction = "after"
) -> Counted:
    """Apply C1–C6 for one unit; ``direction="before"`` counts back from an event."""
    if direction == "before":
        if unit is Unit.WORKING_DAYS:
            return calendar.subtract_workdays(start, n)
        if unit is Unit.CALENDAR_DAYS:
            return calendar.subtract_calendar_days(start, n)
        raise ValueError("only day periods are counted backwards")
    if unit is Unit.WORKING_DAYS:
        return calendar.add_workdays(start, n)
    if unit is Unit.CALENDAR_DAYS:
        return calendar.add_calendar_days(start, n)
    if unit is Unit.MONTHS:
        return calendar.add_months(start, n)
    return calendar.add_years(start, n)


class DeadlineEngine:
    """The rule table (with local settings applied) bound to one legal calendar.

    ``DeadlineEngine().compute("F5", date(2025, 9, 26)).due == date(2025, 10, 10)``; without
    arguments it uses the bundled calendar and no local periods (tests, benchmarks).
    """

    def __init__(
        self, calendar: LegalCalendar | None = None, local_periods: LocalPeriods | None = None
    ) -> None:
        self.calendar = calendar if calendar is not None else LegalCalendar()
        self.local_periods = local_periods if local_periods is not None else LocalPeriods()
        self._rules = self.local_periods.apply(RULES)

    @property
    def rules(self) -> Mapping[str, Rule]:
        return self._rules

    def rule(self, rule_id: str) -> Rule:
        try:
            return self._rules[rule_id]
        except KeyError:
            known = ", ".join(self._rules)
            raise UnknownRule(f"unknown rule id {rule_id!r}; known ids: {known}") from None

    def compute(self, rule_id: str, trigger: date, *, simplified: bool = False) -> Deadline:
        rule = self.rule(rule_id)
        unit, count, article, applied = rule.period(simplified)
        day, provisional = count_period(self.calendar, unit, trigger, count, rule.direction)
        if rule.local_citation is not None:
            basis, basis_en = rule.local_citation
        else:
            basis, basis_en = citation(rule.law, article)
        return Deadline(
            rule_id=rule.id,
            trigger=trigger,
            due=day,
            provisional=provisional,
            basis=basis,
            basis_en=basis_en,
            unit=unit,
            count=count,
            simplified=applied,
            direction=rule.direction,
            actor=rule.actor,
            title=rule.title,
            effect_when_missed=rule.effect_when_missed,
        )
