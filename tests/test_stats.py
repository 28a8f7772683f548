"""/stats through the production routers: the picker, the chart, the export, typed dates, and
who may see the figures (administrators and the reconsideration office's head only)."""

from __future__ import annotations

import csv
import io

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendDocument, SendPhoto
from openpyxl import load_workbook

from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock
from handlers.stats import AGENCY_ID_MAX, ProcedureFilter, StatsButton, StatsStep
from tests.fakes.telegram import BotClient
from tests.reports_support import PSB, build_county
from tests.support import ADMIN_ID, staff_client

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def county(db: Database) -> None:
    await build_county(db)


def photos(client: BotClient) -> list[bytes]:
    return [
        r.photo.data  # type: ignore[union-attr]
        for r in client.session.requests
        if isinstance(r, SendPhoto) and r.chat_id == client.user_id
    ]


def documents(client: BotClient) -> dict[str, bytes]:
    return {
        r.document.filename: r.document.data  # type: ignore[union-attr]
        for r in client.session.requests
        if isinstance(r, SendDocument) and r.chat_id == client.user_id
    }


async def admin(dispatcher: Dispatcher, bot: Bot, clock: FakeClock) -> BotClient:
    return await staff_client(dispatcher, bot, clock, ADMIN_ID, Role.admin)


async def test_admin_picks_a_period_and_a_procedure_and_sees_the_chart_and_figures(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, county: None
) -> None:
    client = await admin(dispatcher, bot, clock)
    await client.send("/stats")
    picker = client.last_text()
    assert "统计期间：2026-11-01 – 2026-11-30" in picker  # this month by default
    assert "✓ 本月" in client.buttons() and "✓ 全部单位" in client.buttons()
    await client.press("上月")
    assert "统计期间：2026-10-01 – 2026-10-31" in client.last_text()
    assert "✓ 上月" in client.buttons()
    await client.press("本月")
    await client.press("📊")
    [png] = photos(client)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000
    figures = client.last_text()
    assert "收到8件，办结7件，当前在办4件，当前逾期2件。" in figures  # the hand count
    assert "出庭率67%" in figures
    # Filter: mediation only; the picker remembers the period.
    await client.press("行政调解")
    assert "程序：行政调解" in client.last_text() and "✓ 行政调解" in client.buttons()
    await client.press("📊")
    assert len(photos(client)) == 2
    assert "收到3件，办结2件，当前在办1件，当前逾期0件。" in client.last_text()
    assert "调解协议：结案2件中达成1件（50%）" in client.last_text()


async def test_agency_filter_button_narrows_the_figures(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, county: None
) -> None:
    client = await admin(dispatcher, bot, clock)
    await client.send("/stats")
    assert "谷城县公安局" in client.buttons()  # the busiest agency has a button
    await client.press("谷城县公安局")
    assert "部门：谷城县公安局" in client.last_text()
    await client.press("📊")
    assert "收到2件，办结2件，当前在办2件，当前逾期1件。" in client.last_text()


async def test_export_sends_the_same_figures_as_xlsx_and_csv(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, county: None
) -> None:
    client = await admin(dispatcher, bot, clock)
    await client.send("/stats")
    await client.press("📥")
    files = documents(client)
    assert set(files) == {
        "stats-2026-11-01_2026-11-30.xlsx",
        "stats-2026-11-01_2026-11-30.csv",
    }
    book = load_workbook(io.BytesIO(files["stats-2026-11-01_2026-11-30.xlsx"]))
    total = list(book["按程序"].iter_rows(values_only=True))[-1]
    assert total[:6] == ("合计", 8, 4, 7, 2, 5)
    text = files["stats-2026-11-01_2026-11-30.csv"].decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert next(r for r in rows if r[:1] == ["合计"])[:6] == ["合计", "8", "4", "7", "2", "5"]


async def test_typed_dates_are_read_and_a_mistake_is_explained_without_leaving(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, county: None
) -> None:
    client = await admin(dispatcher, bot, clock)
    await client.send("/stats")
    await client.press("行政复议")
    await client.press("输入日期")
    assert "请输入统计期间的首日和末日" in client.last_text()
    await client.send("2026-11-30 2026-11-01")
    assert "末日早于首日" in client.last_text()
    await client.send("2026年11月1日至2026年11月15日")
    picker = client.last_text()
    assert "统计期间：2026-11-01 – 2026-11-15" in picker and "程序：行政复议" in picker
    await client.press("📊")
    # Reconsideration received 1-15 November: R1 (11-02), R2 (11-03), R5 (11-10); closed in
    # those days: R4 (11-03), R5 (11-12); R1 closed on 11-20.
    assert "收到3件，办结2件" in client.last_text()


async def test_the_reconsideration_office_head_may_see_the_figures(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, county: None
) -> None:
    await dispatcher["users"].set_role(
        6001, Role.office_staff, "reconsideration_office", head=True
    )
    head = BotClient(dispatcher, bot, user_id=6001)
    await head.send("/stats")
    await head.press("📊")
    assert len(photos(head)) == 1


@pytest.mark.parametrize(
    ("role", "unit"),
    [
        (Role.office_staff, "reconsideration_office"),  # not the head
        (Role.agency_head, PSB),
        (Role.mediator, "room_chengguan"),
        (Role.citizen, None),
    ],
)
async def test_other_roles_are_refused_the_command_and_forged_buttons(
    dispatcher: Dispatcher, bot: Bot, role: Role, unit: str | None, county: None
) -> None:
    if role is not Role.citizen:
        await dispatcher["users"].set_role(6100, role, unit)
    person = BotClient(dispatcher, bot, user_id=6100)
    await person.send("/stats")
    assert person.last_text().startswith("/stats 命令仅供管理员和行政复议机构负责人使用")
    for step in (StatsStep.show, StatsStep.export, StatsStep.pick, StatsStep.custom):
        await person.click(StatsButton(step=step, procedure=ProcedureFilter.all))
    assert photos(person) == [] and documents(person) == {}
    assert person.session.alerts() == ["/stats 命令仅供管理员和行政复议机构负责人使用。"] * 4
    # Typed dates in a state they could not have reached do nothing either.
    await person.send("2026-11-01 2026-11-30")
    assert photos(person) == []


async def test_a_forged_agency_or_period_in_a_button_is_refused(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, county: None
) -> None:
    client = await admin(dispatcher, bot, clock)
    await client.click(StatsButton(step=StatsStep.show, agency="no_such_agency"))
    await client.click(
        StatsButton(step=StatsStep.show, period="c", first="20261399", last="20261401")
    )
    assert photos(client) == []
    assert client.session.alerts() == ["该按钮已失效。"] * 2
    # Data that does not parse at all never reaches the handler (the stale-button answer).
    await client.click("st:s:zz:::a:")
    assert photos(client) == []


def test_every_button_fits_telegrams_64_bytes() -> None:
    longest = StatsButton(
        step=StatsStep.export,
        period="c",
        first="20260101",
        last="20261231",
        procedure=ProcedureFilter.reconsideration,
        agency="a" * AGENCY_ID_MAX,
    )
    assert len(longest.pack().encode()) <= 64


async def test_the_office_heads_command_menu_has_stats(dispatcher: Dispatcher) -> None:
    from handlers.commands import menu_for

    users = dispatcher["users"]
    await users.set_role(6001, Role.office_staff, "reconsideration_office", head=True)
    await users.set_role(6002, Role.office_staff, "reconsideration_office")
    head, clerk = await users.get(6001), await users.get(6002)
    assert head is not None and clerk is not None
    assert "stats" in [c.command for c in menu_for(head.role, "zh", head)]
    assert "stats" not in [c.command for c in menu_for(clerk.role, "zh", clerk)]
    assert "stats" in [c.command for c in menu_for(Role.admin, "zh")]


async def test_stats_again_while_typing_dates_starts_over(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, county: None
) -> None:
    client = await admin(dispatcher, bot, clock)
    await client.send("/stats")
    await client.press("输入日期")
    await client.send("/stats")
    assert "统计期间：2026-11-01 – 2026-11-30" in client.last_text()
    await client.send("2026-01-01 2026-01-31")  # no longer an answer: not read as dates
    assert "统计期间：2026-01-01" not in client.last_text()


async def test_forged_custom_period_beyond_what_can_be_typed_is_refused(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, county: None
) -> None:
    """Year 9999 overflowed the counting (an error instead of an answer); a period of 27
    years counted a county's whole history on every press. Typing allows neither."""
    client = await admin(dispatcher, bot, clock)
    for first, last in (("99991231", "99991231"), ("20000101", "20261231")):
        await client.click(StatsButton(step=StatsStep.show, period="c", first=first, last=last))
    assert photos(client) == []
    assert client.session.alerts() == ["该按钮已失效。"] * 2


async def test_dates_pressed_during_a_court_case_registration_lost_its_answers(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, county: None
) -> None:
    """The court-case form keeps its answers only in the chat's state: "Dates…" took that
    state over and the typed dates cleared it. Now the form stays, untouched."""
    client = await admin(dispatcher, bot, clock)
    await client.send("/lawsuit")
    await client.press("谷城县公安局")
    await client.send("谷城县人民法院")
    await client.send("/stats")
    await client.press("输入日期")
    assert client.session.alerts() == [
        "您还有一张表单未填完。请先填完或发送 /cancel 取消，再按“输入日期…”。"
    ]
    await client.send("（2026）鄂0625行初12号")  # the form's next answer, not dates
    assert "原告是谁" in client.last_text()


async def test_filtered_exports_had_the_same_file_name_as_the_whole_county(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, county: None
) -> None:
    client = await admin(dispatcher, bot, clock)
    await client.send("/stats")
    await client.press("行政复议")
    await client.press("谷城县公安局")
    await client.press("📥")
    assert set(documents(client)) == {
        "stats-2026-11-01_2026-11-30-reconsideration-county_psb.xlsx",
        "stats-2026-11-01_2026-11-30-reconsideration-county_psb.csv",
    }


async def test_a_double_press_on_show_sent_the_chart_twice(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, county: None
) -> None:
    client = await admin(dispatcher, bot, clock)
    await client.send("/stats")
    await client.press("📊")
    await client.press_again()
    assert len(photos(client)) == 1
    assert client.session.alerts()[-1] == "已在上方发送。"
    await client.press("📥")  # another button of the same picker still works
    assert len(documents(client)) == 2
    await client.press("上月")
    await client.press("📊")  # another choice: counted and sent
    assert len(photos(client)) == 2
