"""Where a matter goes: who decides a reconsideration, which room mediates, which procedure."""

from __future__ import annotations

import copy
import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from cases.org.organisation import (
    DEFAULT_ORGANISATION_FILE,
    Organisation,
    UnknownId,
    load_organisation,
)
from cases.org.routing import (
    MEDIATION_RULES,
    TRIAGE_QUESTIONS,
    PetitionKind,
    TriageAnswers,
    mediation_room_for,
    next_triage_question,
    reconsideration_body_for,
    triage,
)


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation()


# --- reconsideration body (FY 24, 27, 28) ----------------------------------------------------


@pytest.mark.parametrize(
    "agency_id", ["county_psb", "county_housing", "county_forestry", "gov_zhaowan", "gov_shihua"]
)
def test_county_departments_and_townships_go_to_the_county_government(
    org: Organisation, agency_id: str
) -> None:
    route = reconsideration_body_for(org, agency_id)
    assert route.body.name == "谷城县人民政府"
    assert route.is_local and not route.citizen_must_apply_elsewhere
    assert route.office is not None and route.office.agency_id == "county_justice"
    assert route.basis.startswith("FY 24")
    assert route.alternatives == ()


def test_tax_goes_to_the_city_tax_bureau(org: Organisation) -> None:
    route = reconsideration_body_for(org, "county_tax")
    assert route.body.name == "国家税务总局襄阳市税务局"
    assert route.citizen_must_apply_elsewhere
    assert route.office is None
    assert route.basis == "FY 27"


def test_justice_bureau_offers_the_choice_of_fy_28(org: Organisation) -> None:
    route = reconsideration_body_for(org, "county_justice")
    assert route.body.name == "谷城县人民政府" and route.is_local
    assert [b.name for b in route.alternatives] == ["襄阳市司法局"]
    assert not route.alternatives[0].local
    assert route.basis == "FY 28"


@pytest.mark.parametrize("agency_id", ["city_ecology_branch", "city_traffic_police_brigade"])
def test_city_branches_go_to_the_city_government_with_a_noted_doubt(
    org: Organisation, agency_id: str
) -> None:
    route = reconsideration_body_for(org, agency_id)
    assert route.body.name == "襄阳市人民政府"
    assert route.citizen_must_apply_elsewhere
    assert route.body.handled_by is not None
    assert [b.id for b in route.alternatives] == ["county_government"]
    assert route.note and "Doubt" in route.note


def test_acts_of_the_county_government_go_to_the_city_government(org: Organisation) -> None:
    route = reconsideration_body_for(org, "county_government")
    assert route.body.id == "xiangyang_government"
    assert route.citizen_must_apply_elsewhere


def test_every_agency_has_a_route(org: Organisation) -> None:
    for agency in org.agencies:
        route = reconsideration_body_for(org, agency.id)
        assert route.is_local == (route.office is not None)


def test_unknown_agency(org: Organisation) -> None:
    with pytest.raises(UnknownId):
        reconsideration_body_for(org, "county_moon_bureau")


# --- mediation room --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "township", "room"),
    [
        # Departmental specialties win, wherever the dispute arose.
        ("traffic_accident", "shihua", "room_psb"),
        ("traffic_accident", None, "room_psb"),
        ("public_order", "chengguan", "room_psb"),
        ("land_forest", "zhaowan", "room_natural_resources"),
        ("labour", "cihe", "room_hrss"),
        ("consumer", None, "room_market_regulation"),
        ("medical", "nanhe", "room_health"),
        ("housing_demolition", "chengguan", "room_housing"),
        # Otherwise the township's room.
        ("neighbour", "shihua", "room_shihua"),
        ("contract", "zhaowan", "room_zhaowan"),
        # Otherwise the county default room.
        ("neighbour", None, "room_county"),
        ("compensation", "lengji", "room_county"),
        ("discretion", None, "room_county"),
    ],
)
def test_mediation_room(org: Organisation, category: str, township: str | None, room: str) -> None:
    assert mediation_room_for(org, category, township).id == room


def test_mediation_rules_are_ordered_data() -> None:
    assert [name for name, _ in MEDIATION_RULES] == [
        "departmental_specialty",
        "township_room",
        "county_default",
    ]


def test_mediation_unknown_ids(org: Organisation) -> None:
    with pytest.raises(UnknownId):
        mediation_room_for(org, "weddings", None)
    with pytest.raises(UnknownId):
        mediation_room_for(org, "neighbour", "atlantis")


def test_mediation_routing_follows_the_data_file(tmp_path: Path) -> None:
    """A deployment that gives traffic accidents to its own brigade room needs no code change."""
    data: dict[str, Any] = copy.deepcopy(json.loads(DEFAULT_ORGANISATION_FILE.read_text("utf-8")))
    psb = next(r for r in data["mediation_rooms"] if r["id"] == "room_psb")
    psb["categories"] = ["public_order"]
    data["mediation_rooms"].append(
        {
            "id": "room_traffic_brigade",
            "name": "谷城大队事故调解室",
            "name_en": "Traffic brigade mediation room",
            "agency_id": "city_traffic_police_brigade",
            "categories": ["traffic_accident"],
            "specialty": True,
        }
    )
    path = tmp_path / "org.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    custom = load_organisation(path)
    assert mediation_room_for(custom, "traffic_accident", "shihua").id == "room_traffic_brigade"
    assert mediation_room_for(custom, "public_order", "shihua").id == "room_psb"


# --- petition kinds --------------------------------------------------------------------------


def test_petition_kinds() -> None:
    assert PetitionKind.report.sensitive
    assert not PetitionKind.appeal.sensitive and not PetitionKind.suggestion.sensitive
    assert [k.basis for k in PetitionKind] == ["XF 29", "XF 30", "XF 31"]
    assert all(k.label for k in PetitionKind)


# --- triage ----------------------------------------------------------------------------------

ALL_NO = TriageAnswers(**{f.name: False for f in fields(TriageAnswers)})


def ask_through(answers_by_id: dict[str, bool]) -> tuple[list[str], TriageAnswers]:
    """Simulate the handler: ask one question at a time; unlisted questions are answered no."""
    asked: list[str] = []
    answers = TriageAnswers()
    while (question := next_triage_question(answers)) is not None:
        asked.append(question.id)
        answers = replace(answers, **{question.id: answers_by_id.get(question.id, False)})
        assert len(asked) <= len(TRIAGE_QUESTIONS)
    return asked, answers


def test_first_question_and_open_outcome() -> None:
    question = next_triage_question(TriageAnswers())
    assert question is not None and question.id == "already_in_court"
    assert triage(TriageAnswers()).complete is False
    assert triage(TriageAnswers()).procedure is None


@pytest.mark.parametrize(
    ("yes", "target", "basis_part"),
    [
        ("already_in_court", "court", "XF 31(1)"),
        ("already_in_arbitration", "arbitration", "XF 31(2)"),
        ("already_in_other_reconsideration", "reconsideration_body", "FY 30(1)(7)"),
    ],
)
def test_blocked_matters_are_redirected(yes: str, target: str, basis_part: str) -> None:
    asked, answers = ask_through({yes: True, "challenges_agency_act": True})
    assert asked[-1] == yes  # nothing asked after the blocking "yes"
    outcome = triage(answers)
    assert outcome.complete and outcome.procedure is None
    assert outcome.redirect is not None and outcome.redirect.target == target
    assert basis_part in outcome.redirect.basis
    assert outcome.redirect.message


def test_court_redirect_mentions_the_political_legal_route() -> None:
    outcome = triage(TriageAnswers(already_in_court=True))
    assert outcome.redirect is not None
    assert "procuratorate" in outcome.redirect.message
    assert "XF 28(2)" in outcome.redirect.basis  # 诉访分离: 涉法涉诉 → 政法部门


def test_agency_act_leads_to_reconsideration() -> None:
    asked, answers = ask_through({"challenges_agency_act": True})
    assert "dispute_with_person_or_company" not in asked
    outcome = triage(answers)
    assert outcome.procedure == "reconsideration"
    assert not outcome.sensitive and outcome.redirect is None


def test_dispute_leads_to_mediation() -> None:
    _, answers = ask_through({"dispute_with_person_or_company": True})
    outcome = triage(answers)
    assert outcome.procedure == "mediation"
    assert outcome.notice is not None


def test_misconduct_report_is_a_sensitive_petition_even_against_an_agency() -> None:
    _, answers = ask_through({"reports_misconduct": True, "challenges_agency_act": True})
    outcome = triage(answers)
    assert outcome.procedure == "petition"
    assert outcome.sensitive
    assert outcome.petition_kind is PetitionKind.report
    assert outcome.basis == "XF 30"


def test_complaint_or_suggestion_is_a_petition() -> None:
    asked, answers = ask_through({"complaint_or_suggestion": True})
    assert len(asked) == len(TRIAGE_QUESTIONS)
    outcome = triage(answers)
    assert outcome.procedure == "petition" and not outcome.sensitive
    assert outcome.petition_kind is None  # the petition form asks for the kind


def test_all_no_points_to_the_hotline() -> None:
    assert next_triage_question(ALL_NO) is None
    outcome = triage(ALL_NO)
    assert outcome.complete and outcome.procedure is None
    assert outcome.redirect is not None and outcome.redirect.target == "hotline"


def test_unanswered_earlier_question_keeps_it_open() -> None:
    answers = TriageAnswers(already_in_court=False, challenges_agency_act=True)
    assert triage(answers).complete is False
    question = next_triage_question(answers)
    assert question is not None and question.id == "already_in_arbitration"


def test_questions_are_unique_and_texted() -> None:
    ids = [q.id for q in TRIAGE_QUESTIONS]
    assert len(ids) == len(set(ids)) == len(fields(TriageAnswers))
    assert all(q.text.endswith("?") for q in TRIAGE_QUESTIONS)
