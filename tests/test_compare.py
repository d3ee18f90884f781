"""Segments side by side: overlap (regions, pairs) and near misses.

Near misses are checked against plain Python over the feature rows of a hand-made shop with
NULLs (SQL's three-valued logic written out by hand); overlap on generated shops, where the
regions must sum to the union that an OR filter counts.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pytest

from conftest import assert_one_line_error, make_duckdb, run_cli
from segtui.core import compare
from segtui.core.generate import generate
from segtui.core.workspace import open_workspace

# customers 1..7 as of 2026-03-31:
#   1: 3 orders 10 days apart, last 2026-01-21       avg gap 10, overdue ~6.9
#   2: 2 orders 30 days apart, last 2026-03-25       avg gap 30, overdue 0.2
#   3: 1 order (avg gap and overdue NULL)
#   4: 3 orders, 2 on one day and one 40 days later  avg gap 20, overdue ~0.7
#   5: 2 orders on the same day: avg gap 0, overdue NULL (NULLIF)
#   6: one order without a total (NULL); 7: a customers record only, every order feature NULL
ORDERS = """
SELECT * FROM (VALUES
  (1, 1, TIMESTAMP '2026-01-01 10:00:00', 10.0), (2, 1, TIMESTAMP '2026-01-11 10:00:00', 10.0),
  (3, 1, TIMESTAMP '2026-01-21 10:00:00', 10.0),
  (4, 2, TIMESTAMP '2026-02-23 10:00:00', 50.0), (5, 2, TIMESTAMP '2026-03-25 10:00:00', 50.0),
  (6, 3, TIMESTAMP '2026-02-01 10:00:00', 99.0),
  (7, 4, TIMESTAMP '2026-02-01 10:00:00', 5.0), (8, 4, TIMESTAMP '2026-02-01 18:00:00', 5.0),
  (9, 4, TIMESTAMP '2026-03-13 10:00:00', 5.0),
  (10, 5, TIMESTAMP '2026-03-30 10:00:00', 20.0), (11, 5, TIMESTAMP '2026-03-30 11:00:00', 20.0),
  (12, 6, TIMESTAMP '2026-03-31 11:00:00', NULL)
) AS t(order_id, customer_id, ordered_at, total)
"""
CUSTOMERS = """
SELECT * FROM (VALUES (1), (2), (3), (4), (5), (6), (7)) AS t(customer_id)
"""

NEAR = "orders >= 2 AND avg_days_between_orders <= 25 AND overdue_ratio < 1 AND total_spent >= 10"
SEGMENT = f"-- name: Steady\n-- group: Custom\n{NEAR}\n"


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("compare")
    shop = make_duckdb(folder / "shop.duckdb", {"orders": ORDERS, "customers": CUSTOMERS})
    segments = folder / "segments"
    segments.mkdir()
    (segments / "steady.sql").write_text(SEGMENT, encoding="utf-8")
    (segments / "many.sql").write_text("-- name: Many\n-- group: Custom\norders >= 2\n", encoding="utf-8")
    (segments / "big.sql").write_text("-- name: Big\n-- group: Custom\ntotal_spent >= 30\n", encoding="utf-8")
    (segments / "gap.sql").write_text("-- name: Gap\n-- group: Custom\navg_days_between_orders <= 25\n", encoding="utf-8")
    return shop, segments


@pytest.fixture
def ws(hand):
    shop, segments = hand
    ws = open_workspace(shop, segments_dir=segments, fields=None)
    yield ws
    ws.close()


def _truth(op, value, bound):
    """SQL's comparison: unknown (None) when the value is NULL."""
    if value is None:
        return None
    return {">=": value >= bound, "<=": value <= bound, "<": value < bound}[op]


CONDITIONS = [("orders", ">=", 2), ("avg_days_between_orders", "<=", 25), ("overdue_ratio", "<", 1),
              ("total_spent", ">=", 10)]


def test_near_misses_equal_plain_python_over_the_rows(ws):
    sql = ws.compile(NEAR)
    ws.require(ws.fields_of(sql))
    names = [c for c, _, _ in CONDITIONS]
    rows = ws.con.execute(f"SELECT {', '.join(names)} FROM customer_features").fetchall()
    assert any(None in row for row in rows), "the shop must have NULLs"
    expected = []
    for i in range(len(CONDITIONS)):
        n = 0
        for row in rows:
            truths = [_truth(op, row[k], bound) for k, (_, op, bound) in enumerate(CONDITIONS)]
            others = [t for k, t in enumerate(truths) if k != i]
            if all(t is True for t in others) and truths[i] is not True:
                n += 1
        expected.append(n)
    misses = compare.near_misses(ws.con, NEAR, sql)
    assert [m.condition for m in misses] == ["orders >= 2", "avg_days_between_orders <= 25", "overdue_ratio < 1",
                                             "total_spent >= 10"]
    assert [m.count for m in misses] == expected
    # by hand: 1 misses only overdue; 5 misses only overdue (NULL); 2 misses only the gap (30)
    assert expected == [0, 1, 2, 0]


def test_near_misses_of_one_condition_exported_with_what_was_missed(ws, tmp_path):
    sql = ws.compile(NEAR)
    ws.require(ws.fields_of(sql))
    misses = compare.near_misses(ws.con, NEAR, sql)
    compare.keep_near_misses(ws.con, misses, only=2)
    target = tmp_path / "near.csv"
    assert compare.write_near_misses(ws, target) == 2
    assert target.read_text().splitlines() == ["customer_id,missed", "1,overdue_ratio < 1", "5,overdue_ratio < 1"]
    compare.keep_near_misses(ws.con, misses)
    every = tmp_path / "all.json"
    assert compare.write_near_misses(ws, every) == 3
    assert {r["missed"] for r in json.loads(every.read_text())} == {"avg_days_between_orders <= 25", "overdue_ratio < 1"}


def test_overlap_by_hand(ws):
    chosen = [ws.segment(n) for n in ("Many", "Big", "Gap")]
    ws.require(set().union(*(ws.fields_of(str(c.sql)) for c in chosen)))
    result = compare.overlap(ws.con, ws.as_of, [(c.name, str(c.sql)) for c in chosen])
    # Many: 1, 2, 4, 5; Big (>= 30): 1 (30), 2 (100), 3 (99), 5 (40); Gap (<= 25): 1 (10), 4 (20), 5 (0)
    assert result.counts == [4, 4, 3]
    regions = {inside: n for inside, n in result.regions}
    assert regions == {("Many",): 0, ("Big",): 1, ("Gap",): 0, ("Many", "Big"): 1, ("Many", "Gap"): 1,
                       ("Big", "Gap"): 0, ("Many", "Big", "Gap"): 2}
    assert sum(regions.values()) == result.union == 5
    assert result.pairs[0] == ("Many", "Big", 3, round(3 / 5, 4))


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gen") / "shop.duckdb"
    generate(path, customers=400, seed=5)
    return path


@pytest.mark.parametrize("names", [
    ("Best customers", "High value"),
    ("Window shoppers", "Abandoned cart", "Viewed but not bought"),
    ("Lapsed", "Inactive", "High value", "RFM: At risk"),
])
def test_overlap_regions_sum_to_the_union(generated, names):
    ws = open_workspace(generated, fields=None)
    try:
        chosen = [ws.segment(n) for n in names]
        selections = [(c.name, str(c.sql)) for c in chosen]
        union_sql = " OR ".join(f"({sql})" for _, sql in selections)
        ws.require(ws.fields_of(union_sql))
        result = compare.overlap(ws.con, ws.as_of, selections)
        union = ws.count_where(union_sql)
        singles = [ws.count_where(sql) for _, sql in selections]
        both = {(a, b): ws.count_where(f"({sa}) AND ({sb})") for (a, sa), (b, sb) in combinations(selections, 2)}
    finally:
        ws.close()
    assert result.union == union and result.counts == singles
    if len(names) <= 3:
        assert len(result.regions) == 2 ** len(names) - 1
        assert sum(n for _, n in result.regions) == union
    else:
        assert result.regions == []
    for a, b, n, jaccard in result.pairs:
        assert n == both[(a, b)]
        either = singles[names.index(a)] + singles[names.index(b)] - n
        assert jaccard == (round(n / either, 4) if either else None)


# --------------------------------------------------------------------------------------------
# the command line


def _cli(hand, *args):
    shop, segments = hand
    return run_cli(args[0], str(shop), "--segments", str(segments), *args[1:])


def test_cli_nearmiss_json_shape(hand):
    result = _cli(hand, "nearmiss", "--segment", "steady", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["segment"] == "Steady" and data["as_of"] == "2026-03-31"
    assert data["conditions"][2] == {"condition": "overdue_ratio < 1", "count": 2}


def test_cli_nearmiss_out_condition(hand, tmp_path):
    target = tmp_path / "near.csv"
    result = _cli(hand, "nearmiss", "--segment", "Steady", "--condition", "3", "--out", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_text().splitlines() == ["customer_id,missed", "1,overdue_ratio < 1", "5,overdue_ratio < 1"]
    assert "overdue_ratio < 1" in result.stdout  # the table still shows every condition
    piped = _cli(hand, "nearmiss", "--segment", "Steady", "--condition", "2", "--out", "-")
    assert piped.stdout.splitlines() == ["customer_id,missed", "2,avg_days_between_orders <= 25"]


def test_cli_overlap_json_shape(hand):
    result = _cli(hand, "overlap", "--segment", "Many", "--segment", "big", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"pairs", "regions", "as_of", "union"}
    assert data["pairs"] == [{"a": "Many", "b": "Big", "both": 3, "jaccard": 0.6}]
    assert data["regions"] == [{"in": ["Many"], "count": 1}, {"in": ["Big"], "count": 1},
                               {"in": ["Many", "Big"], "count": 3}]


def test_cli_overlap_table(hand):
    result = _cli(hand, "overlap", "--segment", "Many", "--segment", "Big", "--segment", "Gap")
    assert result.returncode == 0, result.stderr
    assert "Many ∩ Big ∩ Gap" in result.stdout and "jaccard" in result.stdout


@pytest.mark.parametrize("args, code, words", [
    (("overlap", "--segment", "Many"), 2, "two or more"),
    (("overlap", "--segment", "Many", "--segment", "many"), 2, "twice"),
    (("overlap", "--segment", "Many", "--segment", "Bgi"), 1, "did you mean 'Big'"),
    (("overlap", "--segment", "Many", "--segment", "Big", "--as-of", "2027-01-01"), 1, "after the last activity"),
    (("nearmiss", "--segment", "Stedy"), 1, "did you mean 'Steady'"),
    (("nearmiss", "--segment", "Steady", "--condition", "9", "--out", "x.csv"), 2, "choose 1 to 4"),
    (("nearmiss", "--segment", "Steady", "--condition", "1"), 2, "--out"),
    (("nearmiss", "--segment", "Steady", "--out", "near.txt"), 1, "cannot tell the format"),
])
def test_cli_bad_input_is_one_line(hand, tmp_path, args, code, words):
    shop, segments = hand
    result = run_cli(args[0], str(shop), "--segments", str(segments), *args[1:], cwd=tmp_path)
    assert_one_line_error(result, code, words)
    assert result.stdout == "" and not (tmp_path / "x.csv").exists()
