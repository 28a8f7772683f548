"""The county's organisation file: the sample loads; a broken file says what is wrong."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cases.org.organisation import (
    DEFAULT_ORGANISATION_FILE,
    Organisation,
    OrganisationError,
    UnknownId,
    load_organisation,
)

RAW: dict[str, Any] = json.loads(DEFAULT_ORGANISATION_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def org() -> Organisation:
    return load_organisation()


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "org.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def broken(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> str:
    """Load a copy of the sample with one change; return the error message."""
    data = copy.deepcopy(RAW)
    change(data)
    with pytest.raises(OrganisationError) as info:
        load_organisation(write(tmp_path, data))
    return str(info.value)


def test_sample_has_the_ten_townships(org: Organisation) -> None:
    names = [t.name for t in org.townships]
    assert names == [
        "城关镇",
        "冷集镇",
        "石花镇",
        "五山镇",
        "紫金镇",
        "南河镇",
        "盛康镇",
        "庙滩镇",
        "茨河镇",
        "赵湾乡",
    ]
    assert [t.kind for t in org.townships].count("township") == 1
    assert {z.name for z in org.functional_zones} == {"谷城经济开发区", "薤山旅游度假区"}
    assert org.region_code == "420625"
    assert org.phone_area_code == "0710"


def test_every_township_has_a_government_and_a_room(org: Organisation) -> None:
    for township in org.townships:
        governments = [a for a in org.agencies if a.township_id == township.id]
        assert [g.kind for g in governments] == ["township_government"]
        assert governments[0].name == township.name + "人民政府"
        assert sum(r.township_id == township.id for r in org.mediation_rooms) == 1


def test_offices(org: Organisation) -> None:
    reconsideration = org.office_for_role("reconsideration")
    assert reconsideration is not None and reconsideration.agency_id == "county_justice"
    assert org.agency("county_justice").name == "谷城县司法局"
    petition = org.office_for_role("petition")
    assert petition is not None and petition.name == "谷城县信访局"
    hotline = org.office_for_role("hotline")
    assert hotline is not None and hotline.phone == "0710-12345"


def test_names_in_both_languages(org: Organisation) -> None:
    tax = org.agency("county_tax")
    assert tax.display_name("zh") == "国家税务总局谷城县税务局"
    assert tax.display_name("en").isascii()
    assert all(c.name_en.isascii() for c in org.dispute_categories)


def test_dispute_categories(org: Organisation) -> None:
    ids = {c.id for c in org.dispute_categories}
    assert {
        "public_order",
        "traffic_accident",
        "land_forest",
        "labour",
        "consumer",
        "medical",
        "contract",
        "neighbour",
        "compensation",
        "discretion",
    } <= ids
    assert org.category("compensation").kind == "administrative"
    assert org.category("neighbour").name == "邻里纠纷"


def test_reception_days_are_marked_as_examples(org: Organisation) -> None:
    assert org.reception_days
    assert not any(day.confirmed for day in org.reception_days)
    psb = org.reception_days_of("county_psb")
    assert psb and psb[0].weekday == 1 and psb[0].start < psb[0].end


def test_unknown_id_lookup(org: Organisation) -> None:
    with pytest.raises(UnknownId) as info:
        org.agency("no_such_agency")
    assert info.value.kind == "agency" and info.value.item_id == "no_such_agency"


# --- broken files ----------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OrganisationError, match="does not exist"):
        load_organisation(tmp_path / "nope.json")


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    path.write_text('{\n  "id": "x",\n  oops\n}', encoding="utf-8")
    with pytest.raises(OrganisationError, match=r"not valid JSON.*line 3"):
        load_organisation(path)


def test_duplicate_agency_id(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["agencies"][2]["id"] = data["agencies"][1]["id"]

    message = broken(tmp_path, change)
    assert f"agencies: id {RAW['agencies'][1]['id']!r} is used 2 times" in message


def test_room_with_unknown_category(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["mediation_rooms"][0]["categories"].append("weddings")

    message = broken(tmp_path, change)
    assert "mediation_rooms 'room_chengguan': category 'weddings' is not listed" in message


def test_agency_with_unknown_reconsideration_body(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        tax = next(a for a in data["agencies"] if a["id"] == "county_tax")
        tax["reconsideration"]["body_id"] = "hubei_tax"

    assert "agencies 'county_tax': reconsideration body 'hubei_tax'" in broken(tmp_path, change)


def test_two_rooms_claiming_the_same_specialty(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        hrss = next(r for r in data["mediation_rooms"] if r["id"] == "room_hrss")
        hrss["categories"].append("traffic_accident")

    assert "'traffic_accident' is already the specialty of 'room_psb'" in broken(tmp_path, change)


def test_no_default_room(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        for room in data["mediation_rooms"]:
            room.pop("default", None)

    assert 'exactly one room needs "default": true' in broken(tmp_path, change)


def test_several_problems_are_listed_together(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["reception_days"][0]["agency_id"] = "ghost"
        data["reception_days"][1]["end"] = "08:00"
        data["offices"][0]["agency_id"] = "nobody"

    message = broken(tmp_path, change)
    assert "reception_days[0]: agency 'ghost' is unknown" in message
    assert "reception_days[1]: start 09:00:00 is not before end 08:00:00" in message
    assert "offices 'reconsideration_office': agency 'nobody' is not listed" in message


def test_field_errors_name_their_place(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["agencies"][0]["kind"] = "ministry"
        data["townships"][0]["id"] = "Cheng Guan"
        del data["region_code"]

    message = broken(tmp_path, change)
    assert "agencies.0.kind" in message
    assert "townships.0.id" in message
    assert "region_code: Field required" in message


def test_unknown_keys_are_rejected(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["agencies"][0]["reconsideraton"] = data["agencies"][0]["reconsideration"]

    assert "agencies.0.reconsideraton" in broken(tmp_path, change)
