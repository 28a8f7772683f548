"""The SQLite spellings the PostgreSQL store translates (cases/store/postgres.py), without a
server: the repositories' SQL is written once, so a wrong translation is a wrong query."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from cases.store.postgres import bind, redact, translate


def test_question_marks_become_numbered_parameters_but_not_inside_quotes() -> None:
    sql, count = translate("SELECT '?', \"a?\" FROM t WHERE a = ? AND b IN (?, ?) -- why?")
    assert sql == "SELECT '?', \"a?\" FROM t WHERE a = $1 AND b IN ($2, $3) -- why?"
    assert count == 3


def test_named_parameters_are_numbered_in_order_of_first_use_and_casts_survive() -> None:
    sql, names = translate(
        "SELECT x::text, '10:30' FROM t WHERE a = :case AND b = :at OR c = :case"
    )
    assert sql == "SELECT x::text, '10:30' FROM t WHERE a = $1 AND b = $2 OR c = $1"
    assert names == ("case", "at")
    assert bind("SELECT :a, :b", {"b": 2, "a": 1})[1] == [1, 2]


def test_null_safe_comparison_with_a_parameter() -> None:
    sql, _ = translate("UPDATE u SET x = 1 WHERE unit IS ? AND room IS NOT ? AND gone IS NULL")
    assert sql == (
        "UPDATE u SET x = 1 WHERE unit IS NOT DISTINCT FROM $1 AND room IS DISTINCT FROM $2"
        " AND gone IS NULL"
    )


def test_two_argument_max_and_min_are_greatest_and_least_but_aggregates_stay() -> None:
    sql, _ = translate("SELECT max(a, coalesce(b, min(c, 2))), max(d), min(e) FROM t")
    assert sql == "SELECT greatest(a, coalesce(b, least(c, 2))), max(d), min(e) FROM t"


def test_insert_or_ignore_is_on_conflict_do_nothing_before_returning() -> None:
    assert translate("INSERT OR IGNORE INTO t(a) VALUES (?)")[0] == (
        "INSERT INTO t(a) VALUES ($1) ON CONFLICT DO NOTHING"
    )
    assert translate("INSERT OR IGNORE INTO t(a) VALUES (?) RETURNING id")[0] == (
        "INSERT INTO t(a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id"
    )


def test_json_extract_group_concat_and_index_hints() -> None:
    sql, _ = translate(
        "SELECT json_extract(c.answers, '$.respondent_id'), group_concat(id),"
        " group_concat(name, '、') FROM webhook_deliveries INDEXED BY by_order WHERE a = ?"
    )
    assert sql == (
        "SELECT (c.answers::json #>> '{respondent_id}'), string_agg(CAST(id AS TEXT), ','),"
        " string_agg(CAST(name AS TEXT), '、') FROM webhook_deliveries WHERE a = $1"
    )
    assert "#>> '{case,number}'" in translate("SELECT json_extract(body, '$.case.number')")[0]


def test_values_are_bound_as_sqlite_stored_them() -> None:
    _, args = bind(
        "INSERT INTO t VALUES (?, ?, ?, ?)",
        (True, date(2026, 12, 6), datetime(2026, 12, 6, 1, 2, tzinfo=UTC), None),
    )
    assert args == [True, "2026-12-06", "2026-12-06 01:02:00+00:00", None]


def test_a_wrong_number_of_parameters_is_refused_before_the_server() -> None:
    with pytest.raises(ValueError, match="2 placeholders, 1 parameters"):
        bind("SELECT ?, ?", (1,))
    with pytest.raises(ValueError, match="mixes"):
        translate("SELECT ?, :a")


def test_a_password_never_reaches_a_log_line() -> None:
    assert (
        redact("postgresql://bot:s3cret@db:5432/gucheng") == "postgresql://bot:***@db:5432/gucheng"
    )
    assert redact("postgresql://bot@db/gucheng") == "postgresql://bot@db/gucheng"


def test_a_password_in_the_query_never_reaches_a_log_line() -> None:
    # asyncpg reads ?password= (and ?sslpassword= for the client key) like libpq does.
    assert (
        redact("postgresql://bot@db/gucheng?password=s3cret&search_path=county")
        == "postgresql://bot@db/gucheng?password=***&search_path=county"
    )
    assert (
        redact("postgresql://bot:a@db/g?sslmode=require&sslpassword=k3y")
        == "postgresql://bot:***@db/g?sslmode=require&sslpassword=***"
    )
    assert redact("postgresql://bot@db/g?search_path=s") == "postgresql://bot@db/g?search_path=s"


def test_a_password_in_the_query_string_never_reaches_a_log_line() -> None:
    """asyncpg also reads the password (and the client key's) from the query string."""
    url = "postgresql://bot@db/gucheng?sslmode=require&password=s3cret&sslpassword=k3y"
    assert (
        redact(url) == "postgresql://bot@db/gucheng?sslmode=require&password=***&sslpassword=***"
    )
    assert "s3cret" not in redact("postgresql://bot:pw@db/g?PASSWORD=s3cret&search_path=x")
