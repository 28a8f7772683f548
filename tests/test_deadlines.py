"""The deadline table and engine: domain §1.3 worked examples, variants, settings, texts."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from cases.law.calendar import LegalCalendar
from cases.law.deadline_rules import (
    RULES,
    AdminMediationPeriod,
    DeadlineEngine,
    LocalPeriods,
    NoPeriodConfigured,
    Unit,
    chinese_numeral,
)

PO_FILE = Path(__file__).resolve().parent.parent / "locales" / "src" / "zh" / "deadlines.po"


compute = DeadlineEngine().compute


# -- domain §1.3, every worked example ----------------------------------------------------------


@pytest.mark.parametrize(
    ("example", "rule_id", "trigger", "due"),
    [
        ("A", "F5", date(2025, 9, 26), date(2025, 10, 10)),
        ("B", "F15", date(2025, 9, 16), date(2025, 10, 9)),
        ("C", "LP1", date(2024, 8, 31), date(2025, 2, 28)),
        ("D", "F12", date(2025, 12, 5), date(2026, 2, 3)),
        ("E", "F10", date(2026, 2, 12), date(2026, 3, 4)),
        ("F", "X5", date(2026, 4, 2), date(2026, 5, 6)),
        ("G", "F9", date(2025, 9, 30), date(2025, 10, 16)),
        ("H", "L3", date(2026, 9, 10), date(2026, 9, 28)),
        ("I", "F5", date(2025, 3, 8), date(2025, 3, 14)),
    ],
)
def test_domain_worked_examples(example: str, rule_id: str, trigger: date, due: date) -> None:
    result = compute(rule_id, trigger)
    assert result.due == due, example
    assert result.provisional is False


# -- the table ----------------------------------------------------------------------------------

DOMAIN_IDS = (
    [f"X{i}" for i in range(1, 9)]
    + [f"F{i}" for i in range(1, 16)]
    + ["F3R", "F16a", "F16b", "F16c", "F16d", "F16e", "F17"]
    + ["L1", "L2", "L3", "L4", "L5", "L6", "L8", "L8a", "L9", "L9a"]
    + ["M1", "X3a", "LP1", "LP2", "LP3", "LP3R", "LP4"]
)


def test_every_domain_rule_with_a_fixed_period_is_in_the_table() -> None:
    assert set(DOMAIN_IDS) <= set(RULES)


@pytest.mark.parametrize(
    ("rule_id", "basis", "basis_en"),
    [
        ("F5", "《行政复议法》第三十条", "Administrative Reconsideration Law, Art. 30"),
        ("X4", "《信访工作条例》第三十四条", "Regulations on Letters and Visits Work, Art. 34"),
        ("L3", "《行政诉讼法》第六十七条", "Administrative Litigation Law, Art. 67"),
        ("M1", "《民事诉讼法》第二百零五条", "Civil Procedure Law, Art. 205"),
        ("F4", "《行政复议法实施条例》第十六条", None),
        ("M5", "《人民法院在线调解规则》第二十四条", None),
        (
            "L4",
            "《最高人民法院关于适用〈中华人民共和国行政诉讼法〉的解释》第三十四条",
            "SPC Interpretation on Applying the Administrative Litigation Law, Art. 34",
        ),
    ],
)
def test_basis_is_cited_in_chinese_numerals(
    rule_id: str, basis: str, basis_en: str | None
) -> None:
    result = compute(rule_id, date(2025, 6, 2))
    assert result.basis == basis == RULES[rule_id].basis
    if basis_en is not None:
        assert result.basis_en == basis_en


def test_every_statutory_basis_has_the_citation_form() -> None:
    form = re.compile(r"^《[^《》]+》第[一二三四五六七八九十百零]+条$")
    for rule in RULES.values():
        if rule.local_citation is None:
            assert form.match(rule.basis), rule.id


@pytest.mark.parametrize(
    ("n", "numeral"), [(5, "五"), (10, "十"), (16, "十六"), (62, "六十二"), (101, "一百零一"),
                       (110, "一百一十"), (129, "一百二十九")],
)  # fmt: skip
def test_chinese_numerals(n: int, numeral: str) -> None:
    assert chinese_numeral(n) == numeral


def test_every_rule_text_has_a_chinese_translation() -> None:
    with PO_FILE.open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    for rule in RULES.values():
        for text in (rule.title, rule.trigger, rule.effect_when_missed):
            assert translated.get(text), (rule.id, text)


def test_extension_allowances() -> None:
    assert RULES["X4"].extension is not None and RULES["X4"].extension.max_count == 30
    assert RULES["F12"].extension is not None and RULES["F12"].extension.max_count == 30
    assert RULES["F7"].extension is not None and RULES["F7"].extension.max_count is None
    for rule_id in ("F5", "F10", "F13", "L3", "X6"):
        assert RULES[rule_id].extension is None, rule_id


# -- variants -----------------------------------------------------------------------------------


def test_simplified_procedure_periods() -> None:
    trigger = date(2026, 3, 2)  # a Monday
    assert compute("F9", trigger, simplified=True).due == date(2026, 3, 5)  # 3 WD
    assert compute("F9", trigger, simplified=True).basis == "《行政复议法》第五十四条"
    assert compute("F10", trigger, simplified=True).due == date(2026, 3, 9)  # 5 WD
    f12 = compute("F12", trigger, simplified=True)
    assert (f12.due, f12.simplified, f12.count) == (date(2026, 4, 1), True, 30)
    assert compute("F13", trigger).due == f12.due
    l8 = compute("L8", trigger, simplified=True)
    assert (l8.unit, l8.count, l8.basis) == (Unit.CALENDAR_DAYS, 45, "《行政诉讼法》第八十三条")
    # F5 has no simplified variant: the flag changes nothing.
    assert compute("F5", trigger, simplified=True).due == compute("F5", trigger).due
    assert compute("F5", trigger, simplified=True).simplified is False


def test_long_stops_count_years() -> None:
    assert compute("F2", date(2024, 2, 29)).due == date(2025, 2, 28)
    assert compute("F3", date(2021, 5, 10)).due == date(2026, 5, 11)  # Sun 05-10 → Mon
    assert compute("F3R", date(2006, 3, 1)).due == date(2026, 3, 2)  # Sun 03-01 → Mon


def test_backward_rules_give_the_latest_notice_day() -> None:
    hearing = compute("F11", date(2025, 10, 10))
    assert (hearing.direction, hearing.due) == ("before", date(2025, 9, 26))
    assert compute("L6", date(2024, 10, 8)).due == date(2024, 9, 30)
    assert compute("L6", date(2026, 10, 13)).due == date(2026, 10, 10)  # make-up Saturday


def test_provisional_when_the_due_date_falls_in_an_uncovered_year() -> None:
    assert compute("F12", date(2026, 12, 20)).provisional is True
    assert compute("F12", date(2026, 12, 20)).due == date(2027, 2, 18)
    assert compute("F5", date(2026, 12, 1)).provisional is False


def test_an_engine_on_an_extended_calendar_removes_provisional(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    holidays = [f"2027-02-{d:02d}" for d in range(15, 20)]
    path.write_text(json.dumps({"years": {"2027": {"holidays": holidays}}}), "utf-8")
    result = DeadlineEngine(LegalCalendar(path)).compute("F12", date(2026, 12, 20))
    assert (result.due, result.provisional) == (date(2027, 2, 22), False)


def test_unknown_rule_lists_known_ids() -> None:
    with pytest.raises(ValueError, match=r"unknown rule id 'F99'.*F5.*L3"):
        compute("F99", date(2026, 1, 5))


def test_hearing_itself_is_not_a_period() -> None:
    with pytest.raises(ValueError):
        compute("L7", date(2026, 1, 5))


# -- local settings -----------------------------------------------------------------------------


def test_administrative_mediation_has_the_countys_period_by_default() -> None:
    # Issue 10: the county's own rule, not a statute: 30 CD, one extension by the room lead.
    result = compute("MA", date(2026, 3, 2))
    assert result.due == date(2026, 4, 1) and "非法律规定" in result.basis
    assert DeadlineEngine().rule("MA").extension is not None
    with pytest.raises(NoPeriodConfigured):
        DeadlineEngine(local_periods=LocalPeriods(admin_mediation=None)).compute(
            "MA", date(2026, 3, 2)
        )


def test_administrative_mediation_period_from_settings() -> None:
    engine = DeadlineEngine(
        local_periods=LocalPeriods(
            admin_mediation=AdminMediationPeriod(
                count=10, extension=5, basis="《某县行政调解办法》第十条", basis_en="Art. 10"
            )
        )
    )
    result = engine.compute("MA", date(2026, 3, 2))
    assert (result.due, result.basis) == (date(2026, 3, 16), "《某县行政调解办法》第十条")
    assert engine.rule("MA").extension is not None


def test_petition_figures_follow_local_settings() -> None:
    engine = DeadlineEngine(
        local_periods=LocalPeriods(
            petition_unit=Unit.WORKING_DAYS, x4_days=30, x4_extension_days=60
        )
    )
    x4 = engine.compute("X4", date(2026, 3, 2))
    assert (x4.unit, x4.count) == (Unit.WORKING_DAYS, 30)
    assert x4.due == date(2026, 4, 14)  # 30 WD; Qingming 04-04..06 off
    x4_rule = engine.rule("X4")
    assert x4_rule.extension is not None and x4_rule.extension.max_count == 60
    # The national table is untouched.
    assert compute("X4", date(2026, 3, 2)).due == date(2026, 5, 6)  # 05-01 is Labour Day
