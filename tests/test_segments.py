"""Segment files: loading, overriding, compiling against a shop, counting in one query, saving."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from conftest import features_table

from segtui.core.segments import (
    SegmentCatalog,
    count_segments,
    count_where,
    find_segment,
    load_segments,
    parse_segment,
    save_segment,
)
from segtui.errors import FilterError, SegmentError

TABLES = {"orders", "customers", "order_items", "products"}
COLUMNS = {
    "customer_id": "BIGINT",
    "orders": "BIGINT",
    "total_spent": "DOUBLE",
    "days_since_last_order": "BIGINT",
    "spend_percentile": "DOUBLE",
    "favorite_category": "VARCHAR",
    "has_abandoned_cart": "BOOLEAN",
    "preferred_hour": "INTEGER",
}
UNAVAILABLE = {"main_os": "needs events"}
ROWS = [
    (1, 0, 0.0, None, None, None, False, None),
    (2, 1, 50.0, 31, 10.0, "shoes", True, 10),
    (3, 5, 900.0, 2, 95.0, "dresses", False, 19),
    (4, 2, 120.0, 159, 40.0, "Shoes", False, 12),
    (5, 12, 3000.0, 0, 100.0, "bags", True, 8),
]


def make_features() -> duckdb.DuckDBPyConnection:
    return features_table(COLUMNS, ROWS)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def con():
    return make_features()


# --------------------------------------------------------------------------------------------
# parsing one file


def test_header_and_body():
    text = (
        "-- name: Best customers\n"
        "-- group: Value\n"
        "-- description: Frequent buyers at full price\n"
        "-- description: who spend the most.\n"
        "-- needs: orders, Order_Items\n"
        "-- a note that is not metadata\n"
        "\n"
        "orders >= 5\n"
        "-- a comment line inside the body\n"
        "  AND spend_percentile >= 90  -- trailing comments are the parser's business\n"
    )
    segment = parse_segment(text, Path("best.sql"), builtin=True)
    assert segment.name == "Best customers"
    assert segment.group == "Value"
    assert segment.description == "Frequent buyers at full price who spend the most."
    assert segment.needs == ("orders", "order_items")
    assert segment.where == (
        "orders >= 5\n  AND spend_percentile >= 90  -- trailing comments are the parser's business"
    )
    assert segment.error is None and segment.builtin


def test_defaults_from_the_file_name():
    segment = parse_segment("orders > 1\n", Path("big_spenders-2024.sql"), builtin=False)
    assert segment.name == "Big Spenders 2024"
    assert segment.group == "Custom"
    assert segment.description == "" and segment.needs == ()


def test_comment_lines_inside_a_string_are_kept():
    text = "-- name: Odd\nfavorite_category = 'a\n-- not a comment\n'\n"
    assert parse_segment(text, Path("odd.sql"), builtin=False).where == "favorite_category = 'a\n-- not a comment\n'"


def test_header_only_file_is_broken():
    segment = parse_segment("-- name: Nothing\n-- group: Value\n", Path("nothing.sql"), builtin=True)
    assert segment.error == "no filter expression after the header comments"


# --------------------------------------------------------------------------------------------
# loading folders


def test_load_sorts_overrides_and_lists_broken_files(tmp_path):
    builtin, user = tmp_path / "builtin", tmp_path / "user"
    write(builtin, "best.sql", "-- name: Best customers\n-- group: Value\norders >= 5\n")
    write(builtin, "lapsed.sql", "-- name: Lapsed\n-- group: Lifecycle\ndays_since_last_order > 90\n")
    write(builtin, "night.sql", "-- name: Night owls\n-- group: Timing\npreferred_hour >= 22\n")
    write(builtin, "zebra.sql", "-- name: Zebra\n-- group: Zoology\norders = 1\n")
    write(builtin, "alpha.sql", "-- name: Alpha\n-- group: Astronomy\norders = 2\n")
    write(user, "best.sql", "-- name: BEST CUSTOMERS\n-- group: Value\norders >= 3\n")
    write(user, "mine.sql", "orders = 7\n")
    (user / "binary.sql").write_bytes(b"\xff\xfe\x00bad")
    write(user, "empty.sql", "-- name: Empty\n")

    segments = load_segments(builtin, user)
    names = [s.name for s in segments]
    assert names == ["BEST CUSTOMERS", "Lapsed", "Night owls", "Alpha", "Zebra", "Binary", "Empty", "Mine"]
    best = segments[0]
    assert best.overrides_builtin and not best.builtin and best.where == "orders >= 3"
    broken = {s.name: s.error for s in segments if s.error}
    assert broken["Binary"].startswith("cannot read binary.sql: ")
    assert broken["Empty"] == "no filter expression after the header comments"
    assert all(s.error is None for s in segments if s.name not in broken)


def test_missing_user_folder_is_empty(tmp_path):
    write(tmp_path / "b", "a.sql", "orders > 1\n")
    assert [s.name for s in load_segments(tmp_path / "b", tmp_path / "nope")] == ["A"]
    assert [s.name for s in load_segments(tmp_path / "b", None)] == ["A"]


def test_duplicate_name_in_one_folder_breaks_the_second(tmp_path):
    write(tmp_path, "a.sql", "-- name: Twins\norders > 1\n")
    write(tmp_path, "b.sql", "-- name: twins\norders > 2\n")
    first, second = sorted(load_segments(tmp_path, None), key=lambda s: s.path.name)
    assert first.error is None
    assert second.error == "duplicate segment name 'twins' (also in a.sql)"


def test_find_segment_ignores_case_and_suggests(tmp_path):
    write(tmp_path, "best.sql", "-- name: Best customers\norders > 4\n")
    segments = load_segments(tmp_path, None)
    assert find_segment(segments, "best CUSTOMERS").name == "Best customers"
    with pytest.raises(SegmentError, match=r"^unknown segment 'Best customer'; did you mean 'Best customers'\?$"):
        find_segment(segments, "Best customer")


# --------------------------------------------------------------------------------------------
# compiling against a shop


def catalog_from(tmp_path: Path, files: dict[str, str], tables=TABLES) -> SegmentCatalog:
    for name, text in files.items():
        write(tmp_path, name, text)
    return SegmentCatalog(load_segments(tmp_path, None), COLUMNS, UNAVAILABLE, tables)


def test_unavailable_segments_say_why(tmp_path):
    catalog = catalog_from(
        tmp_path,
        {
            "ios.sql": "-- name: iOS users\n-- needs: orders, events\norders > 0\n",
            "os.sql": "-- name: By OS\nmain_os = 'iOS'\n",
            "uses.sql": "-- name: Uses OS\norders > 1 AND in_segment('by os')\n",
            "fine.sql": "-- name: Fine\norders > 1\n",
        },
    )
    by_name = {c.name: c for c in catalog.compiled}
    assert (by_name["iOS users"].available, by_name["iOS users"].reason) == (False, "needs events")
    assert (by_name["By OS"].available, by_name["By OS"].reason) == (False, "needs events")
    assert (by_name["Uses OS"].available, by_name["Uses OS"].reason) == (False, "needs events")
    assert by_name["Fine"].usable and by_name["Fine"].sql == '"orders" > 1'
    assert all(c.error is None for c in catalog.compiled)


def test_broken_filter_is_listed_with_its_error(tmp_path):
    catalog = catalog_from(tmp_path, {"typo.sql": "-- name: Typo\nordrs > 1\n", "ok.sql": "orders > 1\n"})
    typo = catalog.find("typo")
    assert typo.error == "unknown field 'ordrs' at column 1; did you mean 'orders'?"
    assert not typo.usable and catalog.find("ok").usable


def test_in_segment_resolves_ignoring_case(tmp_path, con):
    catalog = catalog_from(
        tmp_path,
        {
            "big.sql": "-- name: Big spenders\ntotal_spent > 500\n",
            "loyal.sql": "-- name: Loyal big spenders\nIN_SEGMENT('BIG SPENDERS') AND orders >= 10\n",
        },
    )
    assert catalog.find("loyal big spenders").sql == '("total_spent" > 500) AND "orders" >= 10'
    assert count_where(con, catalog.compile("in_segment('big spenders')")) == 2


def test_cycles_break_every_member_and_only_them(tmp_path):
    catalog = catalog_from(
        tmp_path,
        {
            "a.sql": "-- name: A\nin_segment('B') AND orders > 1\n",
            "b.sql": "-- name: B\nin_segment('C')\n",
            "c.sql": "-- name: C\nin_segment('a')\n",
            "d.sql": "-- name: D\nin_segment('b')\n",
            "self.sql": "-- name: Self\nin_segment('self') OR orders > 1\n",
        },
    )
    errors = {c.name: c.error for c in catalog.compiled}
    assert errors["A"] == errors["B"] == errors["C"] == "segment cycle: A -> B -> C -> A"
    assert errors["D"] == "segment 'B' is broken (segment cycle: A -> B -> C -> A) at column 1"
    assert errors["Self"] == "segment cycle: Self -> Self"


def test_finding_one_segment_compiles_what_it_reads_and_still_sees_cycles(tmp_path):
    """A headless count compiles only the segment asked for (and what it reads)."""
    files = {
        "a.sql": "-- name: A\nin_segment('B') AND orders > 1\n",
        "b.sql": "-- name: B\nin_segment('a')\n",
        "d.sql": "-- name: D\nin_segment('b')\n",
        "ok.sql": "-- name: Fine\norders > 1\n",
        "typo.sql": "-- name: Typo\nordrs > 1\n",
    }
    catalog = catalog_from(tmp_path, files)
    assert catalog.find("fine").sql == '"orders" > 1'
    assert "compiled" not in vars(catalog)                 # nothing else was compiled for it
    assert catalog.find("d").error == "segment 'B' is broken (segment cycle: B -> A -> B) at column 1"
    assert catalog.find("B").error == "segment cycle: B -> A -> B"
    assert catalog.find("typo").error.startswith("unknown field 'ordrs'")


def test_unknown_segment_in_filter_suggests(tmp_path):
    catalog = catalog_from(tmp_path, {"best.sql": "-- name: Best customers\norders > 4\n"})
    with pytest.raises(FilterError) as caught:
        catalog.compile("orders > 1 AND in_segment('Best customer')")
    assert str(caught.value) == "unknown segment 'Best customer' at column 16; did you mean 'Best customers'?"
    assert caught.value.suggestion == "Best customers"
    with pytest.raises(SegmentError, match="did you mean 'Best customers'"):
        catalog.find("Bets customers")


# --------------------------------------------------------------------------------------------
# counting


def test_counts_in_one_query_equal_individual_counts(tmp_path, con):
    catalog = catalog_from(
        tmp_path,
        {
            "a.sql": "-- name: Repeat\norders >= 2\n",
            "b.sql": "-- name: Carts\nhas_abandoned_cart\n",
            "c.sql": "-- name: Shoes\nfavorite_category ILIKE 'shoes'\n",
            "d.sql": "-- name: Nobody\norders > 1000\n",
            "e.sql": "-- name: Quiet\n-- needs: events\norders > 0\n",
            "f.sql": "-- name: Ratio\ntotal_spent / orders > 100\n",
        },
    )
    queries: list[str] = []
    con_spy = _Spy(con, queries)
    counts = count_segments(con_spy, catalog.compiled)
    assert len(queries) == 1 and queries[0].count("count_if(") == 5
    assert set(counts) == {"Repeat", "Carts", "Shoes", "Nobody", "Ratio"}  # "Quiet" needs events
    assert counts.total == 5 and counts.errors == {}
    for compiled in catalog.usable:
        assert counts[compiled.name] == count_where(con, compiled.sql)
    assert dict(counts) == {"Repeat": 3, "Carts": 2, "Shoes": 2, "Nobody": 0, "Ratio": 2}


def test_a_column_without_any_value_counts_0_and_an_empty_table_counts_0(tmp_path):
    """DuckDB 2.0.1 folds a condition on an all-NULL column (a shop without a single complaint)
    into a NULL constant, and count_if(NULL) is NULL: segtui segments crashed on such shops."""
    catalog = catalog_from(tmp_path, {
        "a.sql": "-- name: Unset\npreferred_hour <= 30\n",
        "b.sql": "-- name: Repeat\norders >= 2\n",
    })
    nothing_set = features_table(COLUMNS, [(i, i, 1.0, 1, 1.0, "x", False, None) for i in range(1, 4)])
    counts = count_segments(nothing_set, catalog.compiled)
    assert dict(counts) == {"Unset": 0, "Repeat": 2} and counts.total == 3 and counts.errors == {}
    empty = features_table(COLUMNS, ROWS)
    empty.execute("DELETE FROM customer_features")
    counts = count_segments(empty, catalog.compiled)
    assert dict(counts) == {"Unset": 0, "Repeat": 0} and counts.total == 0


def test_a_segment_failing_at_run_time_costs_only_its_own_count(tmp_path, con):
    con.execute("INSERT INTO customer_features (customer_id, orders) VALUES (6, 4000000000000000000)")
    catalog = catalog_from(
        tmp_path, {"a.sql": "-- name: Huge\norders * 4 > 1\n", "b.sql": "-- name: Repeat\norders >= 2\n"}
    )
    counts = count_segments(con, catalog.compiled)
    assert dict(counts) == {"Repeat": 4}
    assert counts.errors["Huge"].startswith("the filter failed while counting: Out of Range Error: Overflow")
    assert counts.total == 6


class _Spy:
    """A connection stand-in that records each query it runs."""

    def __init__(self, con, queries):
        self.con, self.queries = con, queries

    def execute(self, sql, *args):
        self.queries.append(sql)
        return self.con.execute(sql, *args)


# --------------------------------------------------------------------------------------------
# saving


def test_save_round_trips_and_refuses_to_overwrite(tmp_path):
    user = tmp_path / "user"
    path = save_segment(user, "  Weekend\nshoppers ", "Timing", "Buy on\nSaturdays", "preferred_hour > 1")
    assert path == user / "weekend_shoppers.sql"
    (segment,) = load_segments(tmp_path / "none", user)
    assert (segment.name, segment.group, segment.description, segment.where) == (
        "Weekend shoppers", "Timing", "Buy on Saturdays", "preferred_hour > 1",
    )  # fmt: skip
    assert save_segment(user, "Weekend shoppers", "Timing", "Buy on Saturdays", "preferred_hour > 1") == path
    with pytest.raises(SegmentError, match="already exists"):
        save_segment(user, "WEEKEND SHOPPERS", "Timing", "", "preferred_hour > 2")
    assert "preferred_hour > 1" in path.read_text()
    assert save_segment(user, "WEEKEND SHOPPERS", "Timing", "", "preferred_hour > 2", overwrite=True) == path
    assert load_segments(tmp_path / "none", user)[0].where == "preferred_hour > 2"
    assert sorted(p.name for p in user.iterdir()) == ["weekend_shoppers.sql"]  # no temp files left


def test_save_never_takes_another_segments_file(tmp_path):
    first = save_segment(tmp_path, "Big spenders!", "Value", "", "total_spent > 1")
    second = save_segment(tmp_path, "Big spenders?", "Value", "", "total_spent > 2")
    assert (first.name, second.name) == ("big_spenders.sql", "big_spenders_2.sql")
    assert [s.error for s in load_segments(tmp_path / "none", tmp_path)] == [None, None]


def test_save_targets_the_file_already_holding_that_name(tmp_path):
    write(tmp_path, "vip.sql", "-- name: Best customers\norders > 4\n")
    assert save_segment(tmp_path, "best customers", "Value", "", "orders > 5", overwrite=True) == tmp_path / "vip.sql"


@pytest.mark.parametrize(("name", "where"), [("", "orders > 1"), ("  ", "orders > 1"), ("Name", " ")])
def test_save_validates(tmp_path, name, where):
    with pytest.raises(SegmentError):
        save_segment(tmp_path, name, "Value", "", where)


def test_save_is_atomic_when_the_write_fails(tmp_path, monkeypatch):
    path = save_segment(tmp_path, "Keep", "Value", "", "orders > 1")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(SegmentError, match="cannot save segment 'Keep'.*disk full"):
        save_segment(tmp_path, "Keep", "Value", "", "orders > 2", overwrite=True)
    assert path.read_text() == "-- name: Keep\n-- group: Value\norders > 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.sql"]
