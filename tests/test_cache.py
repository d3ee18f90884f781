"""The feature cache never serves stale features: a changed source, as-of date or feature SQL
gives another key; editing one family rebuilds it and what reads it, nothing else; a question
builds only the families it reads; a damaged entry is rebuilt; the folder stays bounded and
outside the shop."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import shutil

import duckdb
import pytest

import segtui.resources
from conftest import make_csv_folder, make_duckdb, tree_digest
from segtui.core import cache
from segtui.core import workspace as W
from segtui.core.features.build import FeatureBuilder
from segtui.core.workspace import open_workspace
from segtui.resources import queries_dir

ORDERS = """
SELECT * FROM (VALUES
  (1, 10, TIMESTAMP '2026-01-05 10:00:00', 20.0, 'web'),
  (2, 10, TIMESTAMP '2026-02-04 12:30:00', 30.0, 'app'),
  (3, 11, TIMESTAMP '2026-03-01 09:00:00', 15.5, 'web')
) AS t(order_id, customer_id, ordered_at, total, channel)
"""
EVENTS = """
SELECT * FROM (VALUES
  (12, TIMESTAMP '2026-03-02 10:00:00', 'page_view'),
  (10, TIMESTAMP '2026-02-20 10:00:00', 'cart_add')
) AS t(customer_id, occurred_at, type)
"""


@pytest.fixture
def shop(tmp_path) -> Path:
    (tmp_path / "shop").mkdir()
    return make_duckdb(tmp_path / "shop" / "shop.duckdb", {"orders": ORDERS, "events": EVENTS})


@pytest.fixture
def builds(monkeypatch) -> list[tuple[date, str]]:
    """(as-of date, family) of every family really built (a cache hit builds nothing)."""
    seen: list[tuple[date, str]] = []
    real = FeatureBuilder._build

    def counting(self, family):
        seen.append((self.as_of, family))
        return real(self, family)

    monkeypatch.setattr(FeatureBuilder, "_build", counting)
    return seen


def built(builds) -> set[str]:
    return {family for _, family in builds}


def features_entries() -> list:
    """The assembled feature tables among the entries (the rest are families)."""
    return [e for e in cache.entries() if e.meta.get("kind") == "features"]


# The families the test shop (orders with a channel, events without device or os) has: a table each but
# the columns files (order_habits and last_action, complaints: computed in the final join). Its two
# buyers are too few for the predictive models: their family is built (and cached) with NULLs.
SHOP_TABLES = {"core", "events", "universe", "rfm", "order_profile", "views_unbought", "reviews", "predict"}


def table(ws) -> list[tuple]:
    return ws.con.execute("SELECT * FROM customer_features ORDER BY customer_id").fetchall()


def snapshot(source, **kwargs):
    ws = open_workspace(source, **kwargs)
    try:
        return ws.features, table(ws), ws.count("orders >= 1")
    finally:
        ws.close()


def test_a_second_open_reads_the_cache_and_gets_the_same_features(shop, builds):
    first = snapshot(shop)
    assert built(builds) == SHOP_TABLES and len(builds) == len(SHOP_TABLES)
    second = snapshot(shop)
    assert len(builds) == len(SHOP_TABLES)       # nothing built again
    assert second == first                        # FeatureSet (available, unavailable), rows, counts
    assert first[0].unavailable                   # a shop without customers: reasons survive the cache
    [entry] = features_entries()
    assert entry.complete and entry.meta["as_of"] == first[0].as_of.isoformat()
    assert {e.meta["family"] for e in cache.entries() if e.meta["kind"] == "family"} == SHOP_TABLES


def test_a_question_builds_only_the_families_it_reads(shop, builds):
    """An orders filter waits for the core pass and the universe only; in_segment pulls in what
    the segment reads (the abandoned cart: the events, and the reviews the last action reads)."""
    ws = open_workspace(shop, fields=None)
    try:
        assert ws.count("orders >= 1") == 2 and built(builds) == {"core", "universe"}
        assert ws.count("in_segment('Abandoned cart')") == 1  # 10's cart on 2026-02-20, after the orders
        assert built(builds) == {"core", "universe", "events", "reviews"}
        assert ws.count("orders >= 1 AND total_spent > 40") == 1 and len(builds) == 4
        assert ws.total() == 3                     # customer 12 has an event, no order
        cursor = ws.con.cursor()                   # a worker's cursor reads the view too
        assert ws.count_where("TRUE", cursor) == 3 and ws.count("email_opens_90d = 0", cursor) == 3
        ws.pending_store(cursor)                   # the caller stores, once it has answered
        cursor.close()
    finally:
        ws.close()
    assert features_entries() == []                # questions make views, not tables to keep
    builds.clear()
    full = open_workspace(shop)                    # the families built above come from the cache
    full.close()
    assert built(builds) == SHOP_TABLES - {"core", "universe", "events", "reviews"}


def test_members_alone_skip_the_universe_when_a_customer_without_rows_cannot_match(shop, builds):
    """`segtui count` asks for members only. A filter that a customer the core family has no
    row for cannot meet (no orders: 0 orders, no last order) is answered from that family
    alone; one such a customer meets (orders = 0: customer 12, an event and no order), or a
    field of the universe, enumerates every customer. Each gives the full table's count."""
    ws = open_workspace(shop, fields=None)
    try:
        assert ws.members(ws.compile("orders >= 1 AND total_spent > 40")) == 1
        assert ws.members(ws.compile("days_since_last_order > 100")) == 0  # NULL without orders
        assert built(builds) == {"core"}
        assert ws.members(ws.compile("orders = 0")) == 1 and built(builds) == {"core", "universe"}
        assert ws.members(ws.compile("tenure_days >= 0 AND orders >= 1")) == 2
        assert ws.members(ws.compile("email_opens_90d = 0")) == 3  # the events family's 0 for no event
    finally:
        ws.close()
    full = open_workspace(shop)
    try:
        for expr, n in [("orders >= 1 AND total_spent > 40", 1), ("days_since_last_order > 100", 0),
                        ("orders = 0", 1), ("email_opens_90d = 0", 3)]:
            assert full.count(expr) == n, expr
    finally:
        full.close()


def test_the_segment_history_stores_counts_not_families(shop, builds):
    """The explorer's background history writes no family entries (every family at 12 dates
    would push out what the next open reads) but each date's counts; the next run reads those
    and builds only the last two dates, whose members it compares, with the same result."""
    from segtui.core import timeline

    def run():
        ws = open_workspace(shop, fields=None)
        try:
            dates = timeline.trend_dates(ws.data_range, None, None, "month")[0]
            return dates, list(timeline.history(ws, dates))[-1]
        finally:
            ws.close()

    dates, first = run()
    assert len(dates) == 3 and {day for day, _ in builds} == set(dates)
    kinds = [e.meta["kind"] for e in cache.entries()]
    assert kinds == ["answers"] * 3 and all(e.complete for e in cache.entries())
    builds.clear()
    _, second = run()
    assert {day for day, _ in builds} == set(dates[-2:])
    assert second == first and first.counts["Abandoned cart"] == (0, 1, 1)


@pytest.mark.parametrize("expr", ["orders >= 1", "orders = 0 OR email_opens_90d >= 1"])
def test_a_trend_stores_counts_not_families(shop, builds, expr):
    """A trend writes each date's two counts, not the families it built (a dozen dates of a
    family at a million customers would push out what the explorer reads next); the same trend
    again reads them and builds nothing. Both paths: members without the universe, and with."""
    from segtui.core import timeline

    def run():
        ws = open_workspace(shop, fields=None)
        try:
            dates = timeline.trend_dates(ws.data_range, None, None, "month")[0]
            return dates, timeline.trend(ws, ws.compile(expr), dates)
        finally:
            ws.close()

    dates, first = run()
    assert {day for day, _ in builds} == set(dates)
    assert [e.meta["kind"] for e in cache.entries()] == ["answers"] * len(dates)
    builds.clear()
    _, second = run()
    assert builds == [] and second == first


def test_cache_info_says_what_a_counts_entry_holds(shop, capsys):
    from segtui.core import timeline

    ws = open_workspace(shop, fields=None)
    try:
        list(timeline.history(ws, timeline.trend_dates(ws.data_range, None, None, "month")[0]))
    finally:
        ws.close()
    code, out, _ = cli(capsys, "cache", "info")
    assert code == 0 and out.count(" counts ") == 3 and " rows " not in out, out


def test_a_cached_feature_table_answers_any_question(shop, builds):
    open_workspace(shop).close()
    builds.clear()
    ws = open_workspace(shop, fields=None)
    try:
        assert ws.count("email_opens_90d = 0 AND orders >= 1") == 2 and builds == []
        assert ws.features.rows_sorted
    finally:
        ws.close()


def test_progress_names_saving_and_reading_the_cache(shop, builds):
    """The copy into the cache takes a second or two at a million customers: it is a step."""
    steps: list[list[str]] = [[], []]
    for seen in steps:
        open_workspace(shop, progress=lambda step, fraction, seen=seen: seen.append(step)).close()
    assert steps[0][-1] == "features: saving to the cache" and "features: joining" in steps[0]
    assert steps[1] == ["features: from cache"]


def test_finding_the_value_lists_is_a_step_of_its_own(shop, builds):
    """Looking up the few values of channel, device... scans orders and events (~0.5 s at a
    million customers): it has its own step instead of lengthening the last base's."""
    seen: list[tuple[str, float]] = []
    open_workspace(shop, use_cache=False, progress=lambda step, fraction: seen.append((step, fraction))).close()
    names = [step for step, _ in seen]
    assert names.index("as-of data: events") < names.index("features: value lists") < names.index("features: core")
    assert [f for _, f in seen] == sorted(f for _, f in seen)


def test_the_progress_fraction_moves_with_time_not_with_the_step_count(shop, builds):
    """Eight as-of steps take milliseconds, the order lines' join and the families seconds: by
    count the bar stood at 43% when the first family began (3 s into a 17 s build at 1M).
    By the steps' measured costs it stands near 10% there and leaves the copy into the cache
    its share at the end."""
    seen: list[tuple[str, float]] = []
    open_workspace(shop, progress=lambda step, fraction: seen.append((step, fraction))).close()
    at = dict(seen)
    assert [f for _, f in seen] == sorted(f for _, f in seen)
    assert at["features: core"] < 0.2  # by count: 4 of 12 steps done here (9 of 21 with every table)
    assert 0.5 < at["features: joining"] < 1 - W.STORE_SHARE
    assert at["features: saving to the cache"] == pytest.approx(1 - W.STORE_SHARE)
    seen.clear()
    open_workspace(shop, use_cache=False, progress=lambda step, fraction: seen.append((step, fraction))).close()
    assert seen[-1] == ("features: done", 1.0) and dict(seen)["features: joining"] > at["features: joining"]


def test_a_store_left_for_later_writes_the_entry_the_next_open_reads(shop, builds):
    """The explorer shows the counts of a fresh build first and copies it into the cache after."""
    ws = open_workspace(shop, store_later=True)
    try:
        assert cache.entries() == [] and ws.pending_store is not None
        cursor = ws.con.cursor()
        ws.pending_store(cursor)
        cursor.close()
        expected = table(ws)
    finally:
        ws.close()
    [entry] = features_entries()
    assert entry.complete
    # the families too, although the explorer's copy runs on a worker cursor, not the connection
    # that built them
    assert {e.meta["family"] for e in cache.entries() if e.meta["kind"] == "family"} == SHOP_TABLES
    steps: list[str] = []
    ws = open_workspace(shop, store_later=True, progress=lambda step, fraction: steps.append(step))
    try:
        assert steps == ["features: from cache"] and ws.pending_store is None and table(ws) == expected
    finally:
        ws.close()
    assert len(builds) == len(SHOP_TABLES)
    assert open_workspace(shop, use_cache=False, store_later=True).pending_store is None


def test_a_failed_or_interrupted_store_leaves_no_file(shop, builds):
    """A store whose connection fails midway (an interrupt says so the same way: a DuckDB error)
    returns None, and neither the entry nor its temp files remain."""
    ws = open_workspace(shop, store_later=True)
    try:
        cursor = ws.con.cursor()
        cursor.close()
        ws.pending_store(cursor)
    finally:
        ws.close()
    folder = cache.features_cache_dir()
    assert not folder.exists() or list(folder.iterdir()) == []


def test_temp_files_of_a_killed_write_are_removed_once_stale(shop, builds):
    """A process killed while writing an entry leaves temp files that are no entry: the next
    write removes them once they are an hour old, and leaves a younger one (a write in progress)."""
    folder = cache.features_cache_dir()
    folder.mkdir(parents=True)
    old = folder / ".0123abcd.k7g14uua.duckdb.tmp"
    old_wal = folder / ".0123abcd.k7g14uua.duckdb.tmp.wal"
    young = folder / ".4567ef.x1y2z3.duckdb.tmp"
    for path in (old, old_wal, young):
        path.write_bytes(b"x" * 1000)
    stale = os.path.getmtime(old) - cache.STALE_TEMP_SECONDS - 60
    for path in (old, old_wal):
        os.utime(path, (stale, stale))
    open_workspace(shop).close()
    assert not old.exists() and not old_wal.exists() and young.exists()
    assert len(features_entries()) == 1
    cache.clear()
    assert list(folder.iterdir()) == []


def test_a_changed_source_is_never_served_stale(shop, builds):
    _, before, n_before = snapshot(shop)
    con = duckdb.connect(str(shop))
    con.execute("INSERT INTO orders VALUES (4, 12, TIMESTAMP '2026-03-01 12:00:00', 99.0, 'web')")
    con.close()
    _, after, n_after = snapshot(shop)
    assert len(builds) == 2 * len(SHOP_TABLES)
    assert (n_before, n_after) == (2, 3)
    assert before != after


def test_a_changed_schema_is_never_served_stale(tmp_path, builds):
    folder = make_csv_folder(tmp_path / "csv", {
        "orders.csv": "order_id,customer_id,ordered_at,total\n1,10,2026-01-05 10:00:00,20\n2,11,2026-02-01 10:00:00,5\n",
    })
    first, _, _ = snapshot(folder)
    stat = (folder / "orders.csv").stat()
    (folder / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,total,discount\n1,10,2026-01-05 10:00:00,20,1\n2,11,2026-02-01 10:00:00,5,0\n"
    )
    os.utime(folder / "orders.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns))   # same mtime on purpose
    second, _, _ = snapshot(folder)
    assert [family for _, family in builds].count("core") == 2
    assert "discount_share" in first.unavailable and "discount_share" not in second.unavailable


def test_another_as_of_date_is_another_entry(shop, builds):
    early = snapshot(shop, as_of=date(2026, 2, 10))
    late = snapshot(shop, as_of=date(2026, 3, 2))
    again = snapshot(shop, as_of=date(2026, 2, 10))
    assert sorted({day for day, _ in builds}) == [date(2026, 2, 10), date(2026, 3, 2)]
    assert len(builds) == 2 * len(SHOP_TABLES)
    assert early == again and early[2] == 1 and late[2] == 2
    assert len(features_entries()) == 2


def test_a_new_cache_version_is_never_served_stale(shop, builds, monkeypatch):
    snapshot(shop)
    monkeypatch.setattr(cache, "CACHE_VERSION", cache.CACHE_VERSION + 1)
    snapshot(shop)
    assert len(builds) == 2 * len(SHOP_TABLES)


@pytest.fixture
def editable_queries(tmp_path, monkeypatch):
    """A copy of queries/ that segtui reads instead of the real one."""
    copy = tmp_path / "queries"
    shutil.copytree(queries_dir(), copy)
    monkeypatch.setattr(segtui.resources, "queries_dir", lambda: copy)
    return copy / "features"


@pytest.mark.parametrize("file, rebuilt", [
    ("core.sql", {"core", "universe", "rfm", "views_unbought"}),      # and what reads the core table
    ("events.sql", {"events", "views_unbought"}),
    ("base_reviews.sql", {"reviews"}),                               # an as-of base: the families reading it
    ("last_action.sql", set()),                                      # a columns file: the join only
])
def test_editing_one_family_rebuilds_it_and_what_reads_it_and_nothing_else(shop, builds, editable_queries, file, rebuilt):
    first = snapshot(shop)
    builds.clear()
    edited = editable_queries / file
    edited.write_text(edited.read_text() + "\n-- a comment is a change too\n")
    assert snapshot(shop) == first
    assert built(builds) == rebuilt and len(builds) == len(rebuilt)
    assert len(features_entries()) == 2                              # the join is another table


def test_no_cache_neither_reads_nor_writes(shop, builds):
    snapshot(shop, use_cache=False)
    assert cache.entries() == []
    snapshot(shop)
    snapshot(shop, use_cache=False)
    assert len(builds) == 3 * len(SHOP_TABLES) and len(features_entries()) == 1


async def test_the_explorer_opens_with_its_use_cache_argument(shop, builds):
    """``SegtuiApp(use_cache=False)`` (what ``segtui open --no-cache`` asks for) neither writes
    nor reads the cache in the explorer's own open."""
    from tui_fixtures import wait_ready

    from segtui.tui.app import SegtuiApp, wait_for_stores

    async def explore() -> None:
        app = SegtuiApp(shop, use_cache=False, history=False)  # the explorer's own open only
        async with app.run_test() as pilot:
            await wait_ready(pilot)
            await pilot.press("q")
        wait_for_stores(app)
        app.ws.close()

    await explore()
    assert cache.entries() == [] and len(builds) == len(SHOP_TABLES)
    snapshot(shop)  # entries the explorer could read
    await explore()
    assert len(features_entries()) == 1 and len(builds) == 3 * len(SHOP_TABLES)  # built again, not read


def test_open_hands_no_cache_to_the_explorer_as_an_argument(shop, capsys, monkeypatch):
    """Not through the environment: the process's variables are left as they were."""
    import segtui.tui.app as app_module

    asked: list[bool] = []
    monkeypatch.setattr(app_module, "run_app", lambda source, **options: asked.append(options["use_cache"]))
    before = dict(os.environ)
    assert cli(capsys, "open", str(shop), "--no-cache")[0] == 0
    assert cli(capsys, "open", str(shop))[0] == 0
    assert asked == [False, True] and dict(os.environ) == before


def test_a_damaged_entry_is_rebuilt(shop, builds):
    good = snapshot(shop)
    [entry] = features_entries()
    core = next(e for e in cache.entries() if e.meta.get("family") == "core")
    for damaged in (entry, core):
        next(p for p in damaged.files if p.suffix == cache.SUFFIX).write_bytes(b"not a database at all")
    assert snapshot(shop) == good
    assert built(builds) == SHOP_TABLES and len(builds) == len(SHOP_TABLES) + 1   # core again, not the rest
    assert snapshot(shop) == good and len(builds) == len(SHOP_TABLES) + 1     # the rebuild was stored again


def test_an_unwritable_cache_is_not_an_error(shop, builds, monkeypatch, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("SEGTUI_CACHE_DIR", str(blocker))
    assert snapshot(shop)[2] == 2


def test_the_cache_stays_out_of_the_shop_and_bounded(tmp_path, builds, monkeypatch):
    folder = make_csv_folder(tmp_path / "csv", {
        "orders.csv": "order_id,customer_id,ordered_at,total\n1,10,2026-01-05 10:00:00,20\n2,11,2026-02-01 10:00:00,5\n"
                      "3,12,2026-02-05 10:00:00,8\n",    # the last activity: as-of dates up to it
    })
    digest = tree_digest(folder)
    snapshot(folder, as_of=date(2026, 1, 31))
    one = sum(e.size for e in cache.entries())               # one date: its families and its table
    monkeypatch.setenv("SEGTUI_CACHE_MAX_BYTES", str(int(one * 2.5)))
    for day in (2, 3, 4, 5):
        snapshot(folder, as_of=date(2026, 2, day))
    kept = cache.entries()
    assert sum(e.size for e in kept) <= one * 2.5
    assert {e.meta["as_of"] for e in kept} >= {"2026-02-05", "2026-02-04"}
    assert {e.meta["as_of"] for e in kept} <= {"2026-02-05", "2026-02-04", "2026-02-03"}  # the oldest go first
    assert tree_digest(folder) == digest                     # nothing written beside the shop
    assert not list(cache.features_cache_dir().glob(".*.tmp"))


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process (a subprocess per call would cost seconds)."""
    from segtui.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return exit_.value.code, captured.out, captured.err


def test_cli_no_cache_and_cache_clear(shop, capsys):
    assert cli(capsys, "count", str(shop), "--where", "orders >= 1", "--no-cache")[:2] == (0, "2\n")
    assert cache.entries() == []
    assert cli(capsys, "count", str(shop), "--where", "orders >= 1")[:2] == (0, "2\n")
    assert len(cache.entries()) == 1                         # the core: no customer without orders has one
    assert cli(capsys, "count", str(shop), "--where", "orders >= 1", "--json")[0] == 0
    assert len(cache.entries()) == 2                         # the universe too, for the total
    code, out, _ = cli(capsys, "cache", "info", "--json")
    assert code == 0 and '"entries": 2' in out
    code, _, err = cli(capsys, "cache", "clear")
    assert code == 0 and "removed 2" in err
    assert cache.entries() == []


@pytest.fixture
def stores(monkeypatch, capsys) -> list[str]:
    """Every copy into the cache by a headless command, as what stdout held when it began."""
    seen: list[str] = []
    real = cache._write

    def recording(*args, **kwargs):
        seen.append(capsys.readouterr().out)
        return real(*args, **kwargs)

    monkeypatch.setattr(cache, "_write", recording)
    return seen


@pytest.mark.parametrize("command", [
    ["count", "--where", "orders >= 1"], ["segments", "--json"], ["fields", "--json"],
    ["export", "--where", "orders >= 1", "--out", "OUT"],
])
def test_a_headless_command_answers_before_it_copies_a_fresh_build(shop, stores, capsys, tmp_path, command):
    """The copy into the cache takes ~2 s at a million customers: the answer does not wait."""
    args = [str(tmp_path / "members.csv") if a == "OUT" else a for a in command]
    code, out, err = cli(capsys, command[0], str(shop), *args[1:])
    assert code == 0, err
    written = len(stores)
    assert written == len(cache.entries()) >= 1
    if command[0] == "export":
        assert (tmp_path / "members.csv").read_text().count("\n") == 3  # header + 2 buyers
    else:
        assert stores[0].strip() and set(stores[1:]) <= {""}  # all of stdout was out before the first copy
    assert cli(capsys, *command[:1], str(shop), *args[1:])[0] == 0 or command[0] == "export"
    assert len(stores) == written  # the second run read the entries


def test_a_failed_command_still_keeps_its_build(shop, stores, capsys):
    code, out, err = cli(capsys, "export", str(shop), "--where", "orders >= 1", "--out", "members.txt")
    assert code == 1 and cache.entries() == []        # refused before anything was built
    code, out, err = cli(capsys, "export", str(shop), "--where", "orders >= 1 AND ordres >= 1", "--out",
                         str(shop.parent / "m.csv"))
    assert code == 1 and "did you mean 'orders'" in err and out == ""
    assert len(features_entries()) == 1               # the full build the export waited for is kept


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), RuntimeError("Query interrupted")])
def test_ctrl_c_during_the_copy_skips_it_and_keeps_the_answer(shop, monkeypatch, capsys, interrupt):
    def interrupted(*args, **kwargs):
        raise interrupt

    monkeypatch.setattr(cache, "_write", interrupted)
    code, out, err = cli(capsys, "count", str(shop), "--where", "orders >= 1")
    assert (code, out) == (0, "2\n")
    assert "skipped saving the features to the cache" in err
    assert cache.entries() == []


def test_ctrl_c_before_the_answer_neither_answers_nor_copies(shop, stores, monkeypatch, capsys):
    import segtui.core.segments as S

    def interrupted(*args, **kwargs):
        raise RuntimeError("Query interrupted")

    monkeypatch.setattr(S, "count_where", interrupted)
    monkeypatch.setattr(W, "count_where", interrupted)
    code, out, err = cli(capsys, "count", str(shop), "--where", "orders >= 1")
    assert (code, out) == (130, "") and "interrupted" in err
    assert stores == [] and cache.entries() == []


def test_entries_keep_their_rows_in_customer_order_and_say_so(tmp_path, builds):
    """A cache entry is stored sorted by customer_id, so exports from it need no sort; a fresh
    build's rows come out of hash joins in any order and are not taken for sorted."""
    scrambled = "SELECT i AS order_id, (i * 2654435761) % 1000000007 AS customer_id, " \
                "TIMESTAMP '2026-01-01' + i * INTERVAL 1 MINUTE AS ordered_at, 10.0 AS total FROM range(1, 4001) AS r(i)"
    shop = make_duckdb(tmp_path / "big.duckdb", {"orders": scrambled})

    def scan_order(ws) -> list[int]:
        return [r[0] for r in ws.con.execute("SELECT customer_id FROM customer_features").fetchall()]

    fresh = open_workspace(shop)
    try:
        assert not fresh.features.rows_sorted
        built = scan_order(fresh)
        assert built != sorted(built)       # else this test could not tell a sorted entry apart
    finally:
        fresh.close()
    before = len(builds)
    cached = open_workspace(shop)
    try:
        assert cached.features.rows_sorted and len(builds) == before
        assert scan_order(cached) == sorted(built)
    finally:
        cached.close()
    [entry] = features_entries()
    sidecar = next(p for p in entry.files if p.suffix == cache.SIDECAR)
    sidecar.write_text(sidecar.read_text().replace('"order": "customer_id", ', ""))  # an older entry
    older = open_workspace(shop)
    try:
        assert not older.features.rows_sorted and len(builds) == before
    finally:
        older.close()


def test_a_test_undoing_its_patches_stays_out_of_the_real_cache(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("SEGTUI_SOMETHING", "1")
    monkeypatch.undo()
    assert Path(os.environ["SEGTUI_CACHE_DIR"]).is_relative_to(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def folders_seen_by_a_module_fixture() -> dict[str, str | None]:
    """Module fixtures are set up before function-scoped ones (test_cli's runs `segtui segments`
    in one, test_tui_flows opens a workspace in one)."""
    return {name: os.environ.get(name) for name in ("SEGTUI_CACHE_DIR", "SEGTUI_CONFIG_DIR", "SEGTUI_SEGMENTS_DIR")}


def test_wider_scoped_fixtures_stay_out_of_the_real_folders(folders_seen_by_a_module_fixture, tmp_path_factory):
    for name, value in folders_seen_by_a_module_fixture.items():
        assert value and Path(value).is_relative_to(tmp_path_factory.getbasetemp()), name
