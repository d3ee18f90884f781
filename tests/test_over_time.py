"""Segments over time: trend, transitions and diff.

A hand-made shop whose answers are worked out by hand below, and generated shops (seeded) for
the equalities that must hold on any data: a trend point is ``count --as-of`` at its date, a
transition matrix's margins are the counts at both dates, entered - left is the change in count.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from conftest import assert_one_line_error, make_duckdb, run_cli
from segtui.core import timeline
from segtui.core.features import lift
from segtui.core.generate import generate
from segtui.core.workspace import open_workspace
from segtui.errors import SourceError

# --------------------------------------------------------------------------------------------
# the hand-made shop
#
#   customer 1: orders 2026-01-05, 01-20, 02-10, 03-01; page views 01-25 and 03-30
#   customer 2: one order 2026-01-10
#   customer 3: orders 2026-02-15 and 03-20 (not yet a customer on 01-31)
#   customer 4: a page view on 2026-03-05 only (not yet a customer on 01-31)
#   customer 5: a customers record created 2026-01-02, nothing else
#   the data runs from 2026-01-05 (first order) to 2026-03-31 (customer 2's page view)

ORDERS = """
SELECT * FROM (VALUES
  (1, 1, TIMESTAMP '2026-01-05 10:00:00', 20.0),
  (2, 1, TIMESTAMP '2026-01-20 10:00:00', 25.0),
  (3, 1, TIMESTAMP '2026-02-10 10:00:00', 30.0),
  (4, 1, TIMESTAMP '2026-03-01 10:00:00', 35.0),
  (5, 2, TIMESTAMP '2026-01-10 12:00:00', 15.0),
  (6, 3, TIMESTAMP '2026-02-15 09:00:00', 50.0),
  (7, 3, TIMESTAMP '2026-03-20 09:00:00', 55.0)
) AS t(order_id, customer_id, ordered_at, total)
"""
EVENTS = """
SELECT * FROM (VALUES
  (1, TIMESTAMP '2026-01-25 08:00:00', 'page_view'),
  (1, TIMESTAMP '2026-03-30 08:00:00', 'page_view'),
  (4, TIMESTAMP '2026-03-05 08:00:00', 'page_view'),
  (2, TIMESTAMP '2026-03-31 08:00:00', 'page_view')
) AS t(customer_id, occurred_at, type)
"""
CUSTOMERS = """
SELECT * FROM (VALUES
  (1, TIMESTAMP '2026-01-01 00:00:00'),
  (2, TIMESTAMP '2026-01-01 00:00:00'),
  (5, TIMESTAMP '2026-01-02 00:00:00')
) AS t(customer_id, created_at)
"""

SEGMENTS = {
    "buyers.sql": "-- name: Repeat buyers\n-- group: Activity\norders >= 2\n",
    "singles.sql": "-- name: Single buyers\n-- group: Activity\norders = 1\n",
    "any.sql": "-- name: Any buyer\n-- group: Overlapping\norders >= 1\n",
    "repeat.sql": "-- name: Repeaters\n-- group: Overlapping\norders >= 2\n",
}


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("hand")
    shop = make_duckdb(folder / "shop.duckdb", {"orders": ORDERS, "events": EVENTS, "customers": CUSTOMERS})
    segments = folder / "segments"
    segments.mkdir()
    for name, text in SEGMENTS.items():
        (segments / name).write_text(text, encoding="utf-8")
    return shop, segments


@pytest.fixture
def hand_ws(hand):
    shop, segments = hand
    ws = open_workspace(shop, segments_dir=segments, fields=None)
    yield ws
    ws.close()


def test_trend_dates_default_is_twelve_month_ends_up_to_the_last_activity(hand_ws):
    span = timeline.DataRange(date(2020, 1, 1), date(2026, 3, 15))
    dates, note = timeline.trend_dates(span, None, None, "month")
    assert dates[-1] == date(2026, 3, 15) and len(dates) == 12 and note is None
    assert dates[:3] == [date(2025, 4, 30), date(2025, 5, 31), date(2025, 6, 30)]
    assert dates[-2] == date(2026, 2, 28)


def test_trend_dates_weeks_quarters_and_from(hand_ws):
    span = timeline.DataRange(date(2020, 1, 1), date(2026, 3, 31))
    weeks, _ = timeline.trend_dates(span, date(2026, 3, 10), None, "week")
    assert weeks == [date(2026, 3, 10), date(2026, 3, 15), date(2026, 3, 22), date(2026, 3, 29), date(2026, 3, 31)]
    quarters, _ = timeline.trend_dates(span, None, date(2026, 3, 31), "quarter")
    assert quarters[-2:] == [date(2025, 12, 31), date(2026, 3, 31)] and len(quarters) == 12
    days, _ = timeline.trend_dates(span, date(2026, 3, 29), None, "day")
    assert days == [date(2026, 3, 29), date(2026, 3, 30), date(2026, 3, 31)]


def test_trend_dates_before_the_first_order_are_skipped_with_a_note(hand_ws):
    dates, note = timeline.trend_dates(hand_ws.data_range, None, None, "month")
    assert dates == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    assert "2026-01-05" in note and "3 of 12" in note


@pytest.mark.parametrize("start, end, words", [
    (date(2026, 3, 1), date(2026, 2, 1), "is after --to"),
    (date(2025, 12, 31), None, "before the first order"),
    (None, date(2026, 4, 1), "after the last activity"),
])
def test_trend_dates_refused(hand_ws, start, end, words):
    with pytest.raises(timeline.TimeError, match=words):
        timeline.trend_dates(hand_ws.data_range, start, end, "month")


def test_trend_dates_refuse_too_many_points():
    span = timeline.DataRange(date(2020, 1, 1), date(2026, 3, 31))
    with pytest.raises(timeline.TimeError, match="coarser"):
        timeline.trend_dates(span, date(2020, 1, 1), None, "day")


def test_trend_by_hand(hand_ws):
    dates = [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    repeat = timeline.trend(hand_ws, hand_ws.compile("orders >= 2"), dates)
    assert [(p.count, p.total) for p in repeat] == [(1, 3), (1, 4), (2, 5)]  # universe: 1,2,5 / +3 / +4
    assert repeat[-1].percent == 40.0
    # an events field: a visit in the 30 days up to each date (1 on 01-25; 1, 4 and 2 in March)
    visits = timeline.trend(hand_ws, hand_ws.compile("visits_30d >= 1"), dates)
    assert [p.count for p in visits] == [1, 0, 3]


def test_transitions_by_hand(hand_ws):
    result = timeline.transitions(hand_ws, "activity", date(2026, 1, 31), date(2026, 3, 31))
    assert result.group == "Activity"
    assert result.rows == ["Repeat buyers", "Single buyers", "none", "not yet a customer"]
    assert result.columns == ["Repeat buyers", "Single buyers", "none"]
    nonzero = {k: n for k, n in result.cells.items() if n}
    assert nonzero == {
        ("Repeat buyers", "Repeat buyers"): 1,  # customer 1
        ("Single buyers", "Single buyers"): 1,  # customer 2
        ("none", "none"): 1,  # customer 5
        ("not yet a customer", "Repeat buyers"): 1,  # customer 3
        ("not yet a customer", "none"): 1,  # customer 4
    }
    cells = result.to_json()["cells"]
    assert len(cells) == 4 * 3 and set(cells[0]) == {"from", "to", "count"}


def test_transitions_count_a_customer_from_the_day_of_their_first_record(hand_ws):
    """Customer 3's first order is on 02-15 and customer 4's first visit on 03-05: each is a
    customer on that very day (the universe holds records on or before the as-of day)."""
    result = timeline.transitions(hand_ws, "activity", date(2026, 2, 15), date(2026, 3, 5))
    nonzero = {k: n for k, n in result.cells.items() if n}
    assert nonzero == {
        ("Repeat buyers", "Repeat buyers"): 1,  # customer 1: 3 orders, then 4
        ("Single buyers", "Single buyers"): 2,  # customer 2; customer 3 from its first order's day
        ("none", "none"): 1,  # customer 5
        ("not yet a customer", "none"): 1,  # customer 4, on the day of its first visit
    }


def test_transitions_of_overlapping_segments_are_refused_or_first_match(hand_ws):
    with pytest.raises(timeline.TimeError, match="'Any buyer' and 'Repeaters'.*--first-match"):
        timeline.transitions(hand_ws, "Overlapping", date(2026, 1, 31), date(2026, 3, 31))
    result = timeline.transitions(hand_ws, "Overlapping", date(2026, 1, 31), date(2026, 3, 31), first_match=True)
    assert result.row_total("Any buyer") == 2 and result.row_total("Repeaters") == 0  # catalogue order: first wins
    assert result.column_total("Any buyer") == 3


def test_unknown_group_suggests_the_nearest(hand_ws):
    from segtui.errors import SegmentError

    with pytest.raises(SegmentError, match="did you mean 'Activity'"):
        timeline.transitions(hand_ws, "Activty", date(2026, 1, 31), date(2026, 3, 31))


def test_diff_by_hand(hand_ws, tmp_path):
    sql = hand_ws.compile("orders >= 2")
    result = timeline.diff(hand_ws, sql, date(2026, 1, 31), date(2026, 3, 31), keep=True)
    assert (result.entered, result.left, result.stayed) == (1, 0, 1)
    single = timeline.diff(hand_ws, hand_ws.compile("orders = 1"), date(2026, 1, 31), date(2026, 2, 28), keep=False)
    assert (single.entered, single.left, single.stayed) == (1, 0, 1)  # customer 3 entered, 2 stayed
    result = timeline.diff(hand_ws, hand_ws.compile("orders = 1"), date(2026, 2, 28), date(2026, 3, 31), keep=True)
    assert (result.entered, result.left, result.stayed) == (0, 1, 1)  # customer 3 left (a second order)
    target = tmp_path / "changes.csv"
    assert timeline.write_changes(hand_ws, date(2026, 3, 31), target) == 2
    assert target.read_text().splitlines() == ["customer_id,change", "3,left", "2,stayed"]
    timeline.drop_snapshots(hand_ws)


def test_diff_of_a_field_of_the_universe_itself(hand_ws):
    """tenure_days is the universe's own column (a customers record's age, else the first
    activity's): the universe is built at each date, not only its list of customers. 01-31:
    customers 1 and 2 (created 01-01) 30 days, 5 (01-02) 29; 03-31: 89, 89, 88, and customer 3
    (first order 02-15) 44, customer 4 (first visit 03-05) 26."""
    assert hand_ws.builder.reads_universe({"tenure_days"}) and not hand_ws.builder.reads_universe({"orders"})
    result = timeline.diff(hand_ws, hand_ws.compile("tenure_days >= 40"), date(2026, 1, 31), date(2026, 3, 31))
    assert (result.count_from, result.count_to, result.entered, result.left) == (0, 4, 4, 0)


def test_no_tables_left_behind(hand_ws):
    timeline.trend(hand_ws, hand_ws.compile("orders >= 2"), [date(2026, 1, 31), date(2026, 3, 31)])
    timeline.transitions(hand_ws, "Activity", date(2026, 1, 31), date(2026, 3, 31))
    timeline.diff(hand_ws, hand_ws.compile("orders >= 2"), date(2026, 1, 31), date(2026, 3, 31))
    left = {r[0] for r in hand_ws.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    assert not left & {"time_from", "time_to", "time_diff"} and not any(t.startswith("feature_core") for t in left)


# --------------------------------------------------------------------------------------------
# generated shops: the equalities


@pytest.fixture(scope="module", params=[7, 11])
def generated(request, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp(f"gen{request.param}") / "shop.duckdb"
    generate(path, customers=400, seed=request.param)
    return path


def _count_at(shop: Path, day: date, sql_of) -> tuple[int, int]:
    """What ``count --as-of`` computes, in a workspace of its own: (members, all customers)."""
    ws = open_workspace(shop, as_of=day, fields=None)
    try:
        sql = sql_of(ws)
        return ws.count_where(sql), ws.total()
    finally:
        ws.close()


SEVERAL_FAMILIES = ["Best customers", "Window shoppers", "Abandoned cart", "Cross-category buyers", "RFM: At risk"]


@pytest.mark.parametrize("segment", SEVERAL_FAMILIES)
def test_trend_equals_count_as_of_at_every_date(generated, segment):
    ws = open_workspace(generated, fields=None)
    try:
        sql = str(ws.segment(segment).sql)
        dates, _ = timeline.trend_dates(ws.data_range, None, None, "quarter")
        points = timeline.trend(ws, sql, dates)
    finally:
        ws.close()
    for point in points:
        expected = _count_at(generated, point.as_of, lambda w: str(w.segment(segment).sql))
        assert (point.count, point.total) == expected, point


@pytest.mark.parametrize("expr", [
    "orders >= 1 AND visits_30d >= 1 OR discount_share > 0.3",  # several families: the universe per date
    "orders >= 2 AND days_since_last_order > 60",  # the core alone, all customers counted in one pass
    "orders = 0",  # the core, but met by customers without orders: the universe per date
])
def test_trend_of_a_filter_equals_count(generated, expr):
    ws = open_workspace(generated, fields=None)
    try:
        dates, _ = timeline.trend_dates(ws.data_range, None, None, "month")
        points = timeline.trend(ws, ws.compile(expr), dates[-4:])
    finally:
        ws.close()
    assert any(p.count for p in points)
    for point in points:
        assert (point.count, point.total) == _count_at(generated, point.as_of, lambda w: w.compile(expr))


def test_transition_margins_equal_the_counts_at_both_dates(generated):
    ws = open_workspace(generated, fields=None)
    try:
        first = date(ws.data_range.last.year - 1, ws.data_range.last.month, 1)
        last = ws.data_range.last
        result = timeline.transitions(ws, "RFM", first, last)
    finally:
        ws.close()
    assert result.row_total(timeline.NOT_YET) > 0, "customers must appear between the dates"
    total_from = total_to = None
    for name in result.columns[:-1]:
        n_from, total_from = _count_at(generated, first, lambda w: str(w.segment(name).sql))
        n_to, total_to = _count_at(generated, last, lambda w: str(w.segment(name).sql))
        assert result.row_total(name) == n_from, name
        assert result.column_total(name) == n_to, name
    assert sum(result.row_total(r) for r in result.rows if r != timeline.NOT_YET) == total_from
    assert sum(result.column_total(c) for c in result.columns) == total_to
    assert result.row_total(timeline.NOT_YET) == total_to - total_from


@pytest.mark.parametrize("segment", ["Late for their own rhythm", "Window shoppers", "High value"])
def test_entered_minus_left_is_the_change_in_count(generated, segment):
    ws = open_workspace(generated, fields=None)
    try:
        first, last = date(ws.data_range.last.year, 1, 31), ws.data_range.last
        result = timeline.diff(ws, str(ws.segment(segment).sql), first, last)
    finally:
        ws.close()
    n_from, _ = _count_at(generated, first, lambda w: str(w.segment(segment).sql))
    n_to, _ = _count_at(generated, last, lambda w: str(w.segment(segment).sql))
    assert (result.count_from, result.count_to) == (n_from, n_to)
    assert result.entered - result.left == n_to - n_from
    assert result.stayed + result.left == n_from and result.stayed + result.entered == n_to


def test_history_of_every_segment_is_the_trend_and_diff_of_each(generated):
    """The explorer's sparklines: every segment's count at each date equals ``trend`` (hence
    ``count --as-of``) and the last step's entered/left/stayed equal ``diff``; what is yielded
    after each date is what is known by then."""
    ws = open_workspace(generated, fields=None)
    try:
        dates = timeline.trend_dates(ws.data_range, None, None, "month")[0][-4:]
        seen = list(timeline.history(ws, dates))
        assert [len(h.dates) for h in seen] == [1, 2, 3, 4] and [h.complete for h in seen] == [False] * 3 + [True]
        assert not any(h.changes for h in seen[:-1])
        final = seen[-1]
        for segment in SEVERAL_FAMILIES:
            sql = str(ws.segment(segment).sql)
            points = timeline.trend(ws, sql, dates)
            assert list(final.counts[segment]) == [p.count for p in points], segment
            assert list(final.totals) == [p.total for p in points]
            assert final.changes[segment] == timeline.diff(ws, sql, dates[-2], dates[-1]), segment
        assert set(final.counts) == {c.name for c in ws.catalog.compiled if c.usable}
    finally:
        ws.close()


def test_history_with_a_helper_counts_what_it_counts_alone(generated):
    """A helper connection counts some of the dates: every yield is the same as without it,
    the helper's queries hold half the memory bound on one thread, and it is closed after."""
    opened, settings = [], set()

    def helper():
        opened.append(open_workspace(generated, fields=None, use_cache=False))
        return opened[-1]

    def seen(step, fraction):
        if threading.current_thread().name == "segtui-history-helper":
            settings.add(opened[0].con.execute("SELECT current_setting('memory_limit'), "
                                               "current_setting('threads')").fetchone())

    alone_ws, ws = (open_workspace(generated, fields=None, use_cache=False) for _ in range(2))
    try:
        dates = timeline.trend_dates(ws.data_range, None, None, "month")[0][-6:]
        alone = list(timeline.history(alone_ws, dates))
        helped = list(timeline.history(ws, dates, seen, helpers=[helper]))
    finally:
        alone_ws.close()
        ws.close()
    assert helped == alone and len(helped) == 6 and helped[-1].changes
    assert settings == {("476.8 MiB", 1)}  # 500 MB: half of the history's 1 GB
    with pytest.raises(duckdb.ConnectionException):
        opened[0].con.execute("SELECT 1")


def test_history_with_a_helper_stops_when_closed_or_told(hand_ws, generated):
    def helpers_running() -> bool:
        return any(t.name == "segtui-history-helper" and t.is_alive() for t in threading.enumerate())

    ws = open_workspace(generated, fields=None, use_cache=False)
    try:
        dates = timeline.trend_dates(ws.data_range, None, None, "month")[0]
        run = timeline.history(ws, dates, helpers=[lambda: open_workspace(generated, fields=None, use_cache=False)])
        next(run)
        run.close()
        assert not helpers_running()
        stopped = threading.Event()
        run = timeline.history(ws, dates, stopped=stopped,
                               helpers=[lambda: open_workspace(generated, fields=None, use_cache=False)])
        assert len(next(run).dates) == 1
        stopped.set()
        assert list(run) == []  # no further date once told
        assert not helpers_running()
        tables = {r[0] for r in ws.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
        assert not tables & {timeline.FROM_TABLE, timeline.TO_TABLE, "customer_features"}, tables

        def broken():
            raise SourceError("the helper could not open the shop")

        with pytest.raises(SourceError, match="could not open"):
            list(timeline.history(ws, dates, helpers=[broken]))
    finally:
        ws.close()


def test_history_builds_within_a_smaller_memory_bound_on_one_thread(hand_ws):
    """The history runs beside the workspace on screen: its builds hold at most 1 GB (they
    spill beyond it) and use one thread, and the connection gets its own settings back after."""
    def limit() -> str:
        return hand_ws.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    def threads() -> int:
        return int(hand_ws.con.execute("SELECT current_setting('threads')").fetchone()[0])

    original = threads()
    hand_ws.con.execute("SET threads = 2")
    before, seen, seen_threads = limit(), set(), set()
    dates = timeline.trend_dates(hand_ws.data_range, None, None, "month")[0]
    try:
        for _ in timeline.history(hand_ws, dates, lambda step, fraction: (seen.add(limit()),
                                                                          seen_threads.add(threads()))):
            pass
        assert seen_threads == {1} and threads() == 2
    finally:
        hand_ws.con.execute(f"SET threads = {original}")
    assert seen and all(v.endswith(" MiB") and float(v.split()[0]) <= 953.7 for v in seen), seen  # 1 GB
    after = limit()  # put back (as DuckDB prints it: '18.8 GiB' comes back as '18.7 GiB')
    assert after.split()[1] == before.split()[1] == "GiB" and abs(float(after.split()[0]) - float(before.split()[0])) < 0.2


def test_history_in_one_pass_counts_what_it_counts_date_by_date(generated):
    """A small shop's history builds its dates together, one pass per family with the date as
    a column: every yield is the same as date by date (every segment, the totals, who entered
    and left), it stores the same counts, and it leaves none of its tables behind."""
    alone_ws, ws = (open_workspace(generated, fields=None, use_cache=False) for _ in range(2))
    try:
        dates = timeline.trend_dates(alone_ws.data_range, None, None, "month")[0]
        alone = list(timeline.history(alone_ws, dates))
        together = list(timeline.history(ws, dates, one_pass=True))
        left = {r[0] for r in ws.con.execute("SELECT table_name FROM duckdb_tables() UNION ALL "
                                              "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    finally:
        alone_ws.close()
        ws.close()
    assert together[-1] == alone[-1] and together[-1].complete and together[-1].changes
    assert len(together) == 1 and len(together[-1].dates) == 12  # the dates come together: one yield
    assert not {n for n in left if n.startswith(("__", "feature_", "customer_features", "predict_", "time_"))}, left


def test_history_in_one_pass_builds_nothing_before_it_is_told_to(generated, monkeypatch):
    """``go``: the history opens, reads what is stored and rewrites the one pass's queries at
    once (the explorer's own build still runs), and builds only once ``go`` is set; stopped
    while it waits, it ends without building."""
    from segtui.core.features import lift

    planned, built = threading.Event(), []
    plan, build = lift.plan, lift.build_at_dates

    def planning(*args, **kwargs):
        try:
            return plan(*args, **kwargs)
        finally:
            planned.set()

    def building(pass_, *rest):
        built.append(pass_.dates)
        return build(pass_, *rest)

    monkeypatch.setattr(lift, "plan", planning)
    monkeypatch.setattr(lift, "build_at_dates", building)
    ws = open_workspace(generated, fields=None, use_cache=False)
    try:
        dates = timeline.trend_dates(ws.data_range, None, None, "month")[0][-4:]
        go, seen = threading.Event(), []
        thread = threading.Thread(target=lambda: seen.extend(timeline.history(ws, dates, one_pass=True, go=go)))
        thread.start()
        assert planned.wait(60)
        thread.join(0.3)
        assert thread.is_alive() and not built and not seen
        go.set()
        thread.join(120)
        assert built == [tuple(dates)] and len(seen) == 1 and seen[0].complete and seen[0].changes

        planned.clear()
        stopped, seen = threading.Event(), []
        thread = threading.Thread(target=lambda: seen.extend(timeline.history(ws, dates, one_pass=True,
                                                                                  go=threading.Event(), stopped=stopped)))
        thread.start()
        assert planned.wait(60)
        stopped.set()
        thread.join(30)
        assert not thread.is_alive() and len(built) == 1 and not seen
    finally:
        ws.close()


def test_history_in_one_pass_falls_back_to_date_by_date(generated, monkeypatch):
    """Where the one pass cannot be made (a construct the rewrite does not know), the dates are
    built one by one, with the same counts."""
    from segtui.core.features import lift

    def refuse(*args, **kwargs):
        raise lift.LiftError("not this one")

    ws = open_workspace(generated, fields=None, use_cache=False)
    try:
        dates = timeline.trend_dates(ws.data_range, None, None, "month")[0][-4:]
        alone = list(timeline.history(ws, dates))
        monkeypatch.setattr(lift, "plan", refuse)
        assert list(timeline.history(ws, dates, one_pass=True)) == alone
    finally:
        ws.close()


def _rows_equal(mine: list, theirs: list) -> bool:
    """Rows equal value for value, floats to 1e-6: DuckDB sums doubles in the order its threads
    meet them, and the predictive fits, which converge to ~1e-8, start from such sums (the
    spend model's values differed by 4e-8 between two builds of one date)."""
    return len(mine) == len(theirs) and all(
        a == pytest.approx(b, rel=1e-6, nan_ok=True) if any(isinstance(v, float) for v in a) else a == b
        for a, b in zip(mine, theirs))


def test_a_pass_makes_every_field_at_every_date_as_that_dates_own_build(generated):
    """The one pass (``features.lift``: the rewritten files, and those written for many dates
    such as pricier.dates.sql) makes at each date the table that date's own build makes:
    every field of every customer, value for value."""
    ws = open_workspace(generated, fields=None, use_cache=False)
    try:
        dates = timeline.trend_dates(ws.data_range, None, None, "month")[0]
        made = lift.build_at_dates(lift.plan(ws.at(dates[-1]).builder, dates, None))
        try:
            names = [row[0] for row in ws.con.execute("DESCRIBE customer_features").fetchall() if row[0] != lift.DATE]
            passed = {day: ws.con.execute(f"SELECT {', '.join(names)} FROM customer_features WHERE {lift.DATE} = ? "
                                          "ORDER BY customer_id", [day]).fetchall() for day in dates}
        finally:
            lift.drop_made(ws.con, made)
    finally:
        ws.close()
    flagged = []
    for day in dates:
        own = open_workspace(generated, as_of=day, use_cache=False)
        try:
            assert [row[0] for row in own.con.execute("DESCRIBE customer_features").fetchall()] == names
            assert _rows_equal(passed[day], own.con.execute("SELECT * FROM customer_features ORDER BY customer_id")
                               .fetchall()), day
        finally:
            own.close()
        flagged.append(sum(row[names.index("viewed_pricier_before_buying")] for row in passed[day]))
    assert 0 < flagged[0] < flagged[-1], flagged  # the dates file's flag appears between the dates


def test_a_missed_upsell_counts_in_a_pass_from_its_orders_day_on(tmp_path):
    """pricier.dates.sql by hand: a customer viewed a pricier product of the category in the 7
    days before an order. The flag is TRUE at each date from that order's day on (an order at
    23:00 on a month end counts there, one at midnight after it does not) and never for a view
    8 days before; a later order counts from its own day."""
    shop = make_duckdb(tmp_path / "upsell.duckdb", {
        "products": "SELECT * FROM (VALUES (1, 'dress', 30.0), (2, 'dress', 50.0)) AS t(product_id, category, price)",
        "orders": """SELECT * FROM (VALUES
            (10, 1, TIMESTAMP '2026-01-31 23:00:00', 30.0),
            (20, 2, TIMESTAMP '2026-02-01 00:00:00', 30.0),
            (30, 3, TIMESTAMP '2026-01-28 10:00:00', 30.0),
            (40, 4, TIMESTAMP '2026-01-10 10:00:00', 30.0),
            (41, 4, TIMESTAMP '2026-02-25 10:00:00', 30.0)
        ) AS t(order_id, customer_id, ordered_at, total)""",
        "order_items": """SELECT * FROM (VALUES (10, 1, 1, 30.0), (20, 1, 1, 30.0), (30, 1, 1, 30.0),
            (40, 1, 1, 30.0), (41, 1, 1, 30.0)) AS t(order_id, product_id, quantity, price)""",
        "events": """SELECT * FROM (VALUES
            (1, TIMESTAMP '2026-01-29 10:00:00', 'product_view', 2),
            (2, TIMESTAMP '2026-01-30 10:00:00', 'product_view', 2),
            (3, TIMESTAMP '2026-01-20 09:00:00', 'product_view', 2),
            (4, TIMESTAMP '2026-02-20 10:00:00', 'product_view', 2),
            (3, TIMESTAMP '2026-02-28 10:00:00', 'page_view', NULL)
        ) AS t(customer_id, occurred_at, type, product_id)""",
    })
    dates = [date(2026, 1, 31), date(2026, 2, 28)]
    ws = open_workspace(shop, as_of=dates[-1], fields=None, use_cache=False)
    try:
        planned = lift.plan(ws.builder, dates, ["viewed_pricier_before_buying"])
        assert any(kind == "run" and "first_missed" in sql for kind, sql in planned.steps)  # the file, not a rewrite
        made = lift.build_at_dates(planned)
        try:
            flags = ws.con.execute(f"SELECT customer_id, list(viewed_pricier_before_buying ORDER BY {lift.DATE}) "
                                   "FROM customer_features GROUP BY customer_id ORDER BY customer_id").fetchall()
        finally:
            lift.drop_made(ws.con, made)
    finally:
        ws.close()
    assert flags == [(1, [True, True]), (2, [False, True]), (3, [False, False]), (4, [False, True])]
    for i, day in enumerate(dates):
        own = open_workspace(shop, as_of=day, fields=["viewed_pricier_before_buying"], use_cache=False)
        try:
            assert own.con.execute("SELECT customer_id, viewed_pricier_before_buying FROM customer_features "
                                   "ORDER BY customer_id").fetchall() == [(c, f[i]) for c, f in flags], day
        finally:
            own.close()


def _full_table(ws) -> tuple[list, list]:
    """The columns (name, type) and rows, in customer order, of ``customer_features``."""
    columns = [tuple(row[:2]) for row in ws.con.execute("DESCRIBE customer_features").fetchall()]
    return columns, ws.con.execute("SELECT * FROM customer_features ORDER BY customer_id").fetchall()


def test_history_in_one_pass_makes_the_shown_dates_full_table(generated):
    """Given a FullTable, the pass is made for every field and its last date's rows are written
    to the feature cache as that date's assembled table: a workspace opened then reads it
    (nothing built), equal column for column, value for value, to the table its own build
    makes; the history counts what it counts without one."""
    built = open_workspace(generated, use_cache=False)
    try:
        expected = _full_table(built)
        as_of = built.as_of
    finally:
        built.close()
    ws = open_workspace(generated, fields=None)
    try:
        dates = timeline.trend_dates(ws.data_range, None, as_of, "month")[0][-4:]
        assert dates[-1] == as_of
        full = timeline.FullTable()
        made = list(timeline.history(ws, dates, one_pass=True, full=full))
        assert full.resolved and full.stored and full.fraction == 1.0
    finally:
        ws.close()
    again = open_workspace(generated, fields=None, use_cache=False)
    try:
        assert list(timeline.history(again, dates, one_pass=True))[-1] == made[-1]
    finally:
        again.close()
    taken = open_workspace(generated, fields=None)
    try:
        taken.require()
        assert taken.features.rows_sorted and not taken.builder.ready  # read from the cache, nothing built
        columns, rows = _full_table(taken)
    finally:
        taken.close()
    assert columns == expected[0] and len(rows) == len(expected[1]) > 0
    for mine, theirs in zip(rows, expected[1]):
        assert mine == pytest.approx(theirs, rel=1e-9, nan_ok=True) if any(isinstance(v, float) for v in mine) \
            else mine == theirs


def test_a_build_in_stages_takes_its_full_table_from_elsewhere(generated, tmp_path, monkeypatch):
    """``build_in_stages(elsewhere=...)``: after the first stage, when another connection wrote
    the date's full table to the cache (a one-pass history), the last stage reads it; only the
    first stage's families were built (and are stored) here, and every segment counts what a
    whole build counts. When it did not (False), the stages are built here."""
    from segtui.core import cache

    whole = open_workspace(generated, use_cache=False)
    try:
        expected = whole.count_all()
    finally:
        whole.close()
    for made in (True, False):
        monkeypatch.setenv("SEGTUI_CACHE_DIR", str(tmp_path / str(made)))  # an empty cache each
        ws, second = open_workspace(generated, fields=None), open_workspace(generated, fields=None, use_cache=made)
        try:
            asked = []

            def elsewhere(progress) -> bool:
                asked.append(sorted(ws.builder.ready))
                dates = timeline.trend_dates(second.data_range, None, ws.as_of, "month")[0][-3:]
                full = timeline.FullTable()
                list(timeline.history(second, dates, one_pass=True, full=full))
                return full.stored

            stages = list(ws.build_in_stages(elsewhere=elsewhere))
            assert len(asked) == 1 and stages[-1].final
            first = set(asked[0])
            assert (len(stages) == 2) is made and ws.features.rows_sorted is made
            assert (set(ws.builder.ready) == first) is made  # nothing built after the first stage
            assert ws.count_all() == expected
            ws.release()  # stores the first stage's families, then drops them
            stored = {e.meta.get("family") for e in cache.entries() if e.meta.get("kind") == "family"}
            assert first <= stored and (stored == first) is made
        finally:
            ws.close()
            second.close()


def test_a_full_table_not_made_is_said_at_once(generated, monkeypatch):
    """The FullTable is resolved False, so that the shown build builds on, when the pass cannot
    give it: no feature cache to write to, a rewrite refused (the history then waits for ``go``
    and counts date by date), or stopped before it built."""
    from segtui.core.features import lift

    ws = open_workspace(generated, fields=None, use_cache=False)
    try:
        dates = timeline.trend_dates(ws.data_range, None, None, "month")[0][-3:]
        full = timeline.FullTable()
        assert list(timeline.history(ws, dates, one_pass=True, full=full))[-1].complete
        assert full.resolved and not full.stored  # no cache

        def refuse(*args, **kwargs):
            raise lift.LiftError("not this one")

        monkeypatch.setattr(lift, "plan_beside", refuse)
        full, go, ended, seen = timeline.FullTable(), threading.Event(), threading.Event(), []
        thread = threading.Thread(target=lambda: seen.extend(timeline.history(ws, dates, one_pass=True, go=go,
                                                                                  full=full, stopped=ended)))
        thread.start()
        deadline = time.monotonic() + 30

        def in_time() -> None:
            assert time.monotonic() < deadline, "not resolved before go"

        try:
            assert full.wait(in_time, lambda step, fraction: None) is False
            thread.join(0.3)
            assert thread.is_alive() and not seen  # the dates one by one, once told to
            go.set()
            thread.join(120)
            assert seen and seen[-1].complete
        finally:
            ended.set()
            thread.join(30)

        stopped = threading.Event()
        stopped.set()
        full = timeline.FullTable()
        assert not list(timeline.history(ws, dates, one_pass=True, full=full, stopped=stopped))
        assert full.resolved and not full.stored
    finally:
        ws.close()


def test_history_of_values_that_appear_between_the_dates(tmp_path):
    """The history takes each date's value lists (devices, OS) from one scan at its last date:
    a device first seen on the last day of a month counts from that month's end, one of the
    events as one of the orders; every count equals ``count --as-of`` at its date."""
    shop = make_duckdb(tmp_path / "shop.duckdb", {
        "orders": """SELECT * FROM (VALUES
            (1, 1, TIMESTAMP '2026-01-05 10:00:00', 20.0, 'mobile'),
            (2, 1, TIMESTAMP '2026-01-31 23:00:00', 20.0, 'desktop'),
            (3, 1, TIMESTAMP '2026-01-31 23:30:00', 20.0, 'desktop'),
            (4, 2, TIMESTAMP '2026-02-20 10:00:00', 20.0, 'tablet'),
            (5, 3, TIMESTAMP '2026-03-31 10:00:00', 20.0, NULL)
        ) AS t(order_id, customer_id, ordered_at, total, device)""",
        "events": """SELECT * FROM (VALUES
            (2, TIMESTAMP '2026-02-28 22:00:00', 'page_view', 'desktop', 'ios'),
            (2, TIMESTAMP '2026-02-28 23:00:00', 'page_view', 'desktop', 'ios'),
            (3, TIMESTAMP '2026-03-15 10:00:00', 'page_view', 'phone', 'android')
        ) AS t(customer_id, occurred_at, type, device, os)""",
    })
    segments = tmp_path / "segments"
    segments.mkdir()
    for name, where in {"desktop": "main_device = 'desktop'", "ios": "main_os = 'ios'",
                        "phone": "main_device = 'phone'"}.items():
        (segments / f"{name}.sql").write_text(f"-- name: {name}\n{where}\n", encoding="utf-8")
    ws = open_workspace(shop, segments_dir=segments, fields=None, use_cache=False)
    try:
        dates = timeline.trend_dates(ws.data_range, None, None, "month")[0]
        final = list(timeline.history(ws, dates))[-1]
        assert list(timeline.history(ws, dates, one_pass=True))[-1] == final  # one pass, the same lists
    finally:
        ws.close()
    assert dates == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    # by hand: customer 1 is desktop (2 of 3 orders) from 01-31; customer 2 desktop and iOS
    # from 02-28 (tablet 1, desktop 2); customer 3 a phone from 03-15 (its order has no device)
    mine = {name: final.counts[name] for name in ("desktop", "ios", "phone")}
    assert mine == {"desktop": (1, 2, 2), "ios": (0, 1, 1), "phone": (0, 0, 1)}
    for name in mine:
        by_date = [_count_at_in(shop, segments, day, name) for day in dates]
        assert list(final.counts[name]) == by_date, name


def _count_at_in(shop: Path, segments: Path, day: date, name: str) -> int:
    ws = open_workspace(shop, as_of=day, segments_dir=segments, fields=None, use_cache=False)
    try:
        return ws.count_where(str(ws.segment(name).sql))
    finally:
        ws.close()


def test_history_stopped_between_dates_leaves_no_tables(hand_ws):
    dates = timeline.trend_dates(hand_ws.data_range, None, None, "month")[0]
    run = timeline.history(hand_ws, dates)
    next(run)
    run.close()
    tables = {r[0] for r in hand_ws.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    assert not tables & {timeline.FROM_TABLE, timeline.TO_TABLE, "customer_features"}, tables


# --------------------------------------------------------------------------------------------
# the command line


def _cli(hand, *args):
    shop, segments = hand
    return run_cli(args[0], str(shop), "--segments", str(segments), *args[1:])


def test_cli_trend_json_shape_and_note(hand):
    result = _cli(hand, "trend", "--where", "orders >= 2", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"as_of": "2026-01-31", "count": 1, "percent": 33.33},
        {"as_of": "2026-02-28", "count": 1, "percent": 25.0},
        {"as_of": "2026-03-31", "count": 2, "percent": 40.0},
    ]
    assert "the data starts on 2026-01-05" in result.stderr


def test_cli_trend_matches_cli_count(hand):
    trend = _cli(hand, "trend", "--segment", "repeat buyers", "--every", "week", "--from", "2026-03-01", "--json")
    assert trend.returncode == 0, trend.stderr
    for point in json.loads(trend.stdout):
        count = _cli(hand, "count", "--segment", "Repeat buyers", "--as-of", point["as_of"])
        assert count.stdout.strip() == str(point["count"]), point


def test_cli_trend_table(hand):
    result = _cli(hand, "trend", "--segment", "Repeat buyers")
    assert result.returncode == 0, result.stderr
    assert "2026-03-31" in result.stdout and "Repeat buyers" in result.stdout


def test_cli_transitions_json_and_table(hand):
    result = _cli(hand, "transitions", "--group", "Activity", "--from", "2026-01-31", "--to", "2026-03-31", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"group", "from", "to", "cells"} and data["from"] == "2026-01-31"
    assert {"from": "not yet a customer", "to": "Repeat buyers", "count": 1} in data["cells"]
    table = _cli(hand, "transitions", "--group", "Activity", "--from", "2026-01-31", "--to", "2026-03-31")
    assert table.returncode == 0 and "not yet a customer" in table.stdout and "Repeat buyers" in table.stdout


def test_cli_diff_json_and_out(hand, tmp_path):
    target = tmp_path / "diff.csv"
    result = _cli(hand, "diff", "--segment", "Single buyers", "--from", "2026-02-28", "--to", "2026-03-31", "--json",
                  "--out", str(target))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"segment": "Single buyers", "from": "2026-02-28", "to": "2026-03-31",
                                         "count_from": 2, "count_to": 1, "entered": 0, "left": 1, "stayed": 1}
    assert target.read_text().splitlines() == ["customer_id,change", "3,left", "2,stayed"]
    again = _cli(hand, "diff", "--segment", "Single buyers", "--from", "2026-02-28", "--to", "2026-03-31",
                 "--out", str(target))
    assert_one_line_error(again, 1, "--force")
    stdout = _cli(hand, "diff", "--where", "orders = 1", "--from", "2026-02-28", "--to", "2026-03-31", "--out", "-")
    assert stdout.returncode == 0 and stdout.stdout.splitlines() == ["customer_id,change", "3,left", "2,stayed"]
    assert "1 left" in stdout.stderr


@pytest.mark.parametrize("args, code, words", [
    (("trend", "--segment", "Repeat buyer"), 1, "did you mean 'Repeat buyers'"),
    (("trend", "--where", "orders >= 2", "--from", "2026-03-01", "--to", "2026-02-01"), 1, "is after --to"),
    (("trend", "--where", "orders >= 2", "--from", "2025-01-01"), 1, "before the first order"),
    (("trend", "--where", "orders >= 2", "--to", "2027-01-01"), 1, "after the last activity"),
    (("trend", "--where", "orders >= 2", "--every", "year"), 2, "--every"),
    (("trend", "--where", "orders >= 2", "--from", "2026-13-01"), 2, "YYYY-MM-DD"),
    (("transitions", "--group", "Activty", "--from", "2026-01-31", "--to", "2026-03-31"), 1, "did you mean 'Activity'"),
    (("transitions", "--group", "Overlapping", "--from", "2026-01-31", "--to", "2026-03-31"), 1, "--first-match"),
    (("transitions", "--group", "Activity", "--from", "2026-03-31", "--to", "2026-01-31"), 1, "is after --to"),
    (("diff", "--segment", "Repeat buyers", "--from", "2026-01-01", "--to", "2026-03-31"), 1, "before the first order"),
    (("diff", "--segment", "Repeat buyers", "--from", "2026-01-31", "--to", "2026-03-31", "--json", "--out", "-"), 2,
     "--json"),
    (("diff", "--from", "2026-01-31", "--to", "2026-03-31"), 2, "--where"),
])
def test_cli_bad_input_is_one_line(hand, args, code, words):
    result = _cli(hand, *args)
    assert_one_line_error(result, code, words)
    assert result.stdout == ""
