"""segtui at a million customers: every figure beside a plain baseline, in one run.

    python benchmarks/bench.py --customers 1000000            # the full run (minutes)
    python benchmarks/bench.py --customers 5000 --runs 1 --curve 1000   # the CI smoke run

Shops come from ``segtui generate`` (reused when ``--data`` already holds one for the same size
and seed). Each figure runs in a fresh worker process (``--worker``) so that its peak RSS is its
own; it is repeated ``--runs`` times and reported as min and median. The baseline beside it is
what a user could do without segtui: hand-written DuckDB SQL, pandas, a minimal Textual app.
The table goes to stdout (markdown); ``--json FILE`` keeps every number. Figures are never
asserted here or in tests: the targets column says whether each met its target on this run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve()
ADHOC = "orders >= 2 AND days_since_last_order > 60 AND main_device = 'mobile'"
# A question about orders alone: `segtui count` builds the core family (and the universe) for it,
# and a plain DuckDB process answers it from the raw orders.
CORE_QUESTION = "orders >= 3 AND total_spent > 200"
CORE_QUESTION_SQL = """
SELECT count(*) FROM (
    SELECT customer_id FROM orders
    WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL
    GROUP BY customer_id
    HAVING COUNT(DISTINCT order_id) + count_if(order_id IS NULL) >= 3 AND SUM(COALESCE(total, 0)) > 200
) AS buyers
"""
CORE = ("orders", "total_spent", "avg_order_value", "first_order_at", "last_order_at",
        "days_since_last_order", "days_since_first_order", "avg_days_between_orders",
        "overdue_ratio", "spend_percentile", "orders_365d")

# The core features written by hand, as an analyst would without segtui: one query over the
# raw orders table, the same definitions (DESIGN.md "Core features").
BASELINE_SQL = """
CREATE OR REPLACE TABLE baseline_core AS
WITH o AS (
    SELECT customer_id, order_id, ordered_at, COALESCE(total, 0) AS total,
           date_diff('day', CAST(ordered_at AS DATE), DATE '{as_of}') AS days_ago
    FROM src.orders
    WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL AND ordered_at < DATE '{as_of}' + INTERVAL 1 DAY
), agg AS (
    SELECT customer_id, COUNT(DISTINCT order_id) AS orders, SUM(total) AS total_spent,
           MIN(ordered_at) AS first_order_at, MAX(ordered_at) AS last_order_at,
           MIN(days_ago) AS days_since_last_order, MAX(days_ago) AS days_since_first_order,
           COUNT(DISTINCT CASE WHEN days_ago < 365 THEN order_id END) AS orders_365d
    FROM o GROUP BY customer_id
)
SELECT customer_id, orders, total_spent, total_spent / orders AS avg_order_value,
       first_order_at, last_order_at, days_since_last_order, days_since_first_order,
       (days_since_first_order - days_since_last_order) / NULLIF(orders - 1, 0) AS avg_days_between_orders,
       days_since_last_order / NULLIF((days_since_first_order - days_since_last_order) / NULLIF(orders - 1, 0), 0) AS overdue_ratio,
       100 * PERCENT_RANK() OVER (ORDER BY total_spent) AS spend_percentile, orders_365d
FROM agg ORDER BY customer_id
"""

TARGETS = {  # figure -> (limit in seconds or ratio, what the limit applies to)
    "build_full": (20.0, "s"), "count_cold_ratio": (4.0, "ratio"), "count_warm_ratio": (1.5, "ratio"),
    "count_cold_big": (3.0, "s"), "tui_big_first_counts": (5.0, "s"), "build_core": (1.2, "ratio"), "reopen": (0.5, "s"),
    "counts": (0.1, "s"), "adhoc": (0.03, "s"), "export_parquet_all": (2.0, "s"),
    "tui_demo_frame": (0.5, "s"), "tui_demo_counts": (1.0, "s"),
    "predict_summary_ratio": (1.5, "ratio"), "predict_fit": (10.0, "s"), "history_demo": (2.0, "s"),
    "trend_big": (15.0, "s"), "transitions_ratio": (2.0, "ratio"),
}
MEMORY_LIMIT_MB = 4096


# ---------------------------------------------------------------------------------------------
# helpers


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far, all its threads (DuckDB's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn, runs: int, cpu: list[float] | None = None) -> list[float]:
    """Wall seconds of each of `runs` calls of fn; with `cpu`, each call's CPU seconds too."""
    times = []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), cpu_seconds()
        fn()
        times.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(cpu_seconds() - start_cpu)
    return times


def summary(times: list[float]) -> dict:
    return {"min": min(times), "median": statistics.median(times), "runs": len(times)} if times else {}


def shop_path(data: Path, customers: int, seed: int) -> Path:
    return data / f"shop-{customers}-seed{seed}.duckdb"


def ensure_shop(data: Path, customers: int, seed: int) -> tuple[Path, float | None]:
    """The generated shop for (customers, seed): reused when present, else generated."""
    path = shop_path(data, customers, seed)
    if path.exists():
        return path, None
    data.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # In a child process: a worker forked from a parent that generated a shop in-process would
    # report the parent's peak RSS as its own (Linux carries ru_maxrss across fork and exec).
    code = "import sys; from segtui.core.generate import generate; generate(sys.argv[1], customers=int(sys.argv[2]), seed=int(sys.argv[3]))"
    subprocess.run([sys.executable, "-c", code, str(path), str(customers), str(seed)], check=True)
    return path, time.perf_counter() - start


def attach(path: Path):
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
    return con


# ---------------------------------------------------------------------------------------------
# workers: each measures one figure and its baseline, prints one JSON line


def w_build(args) -> dict:
    from segtui.core.features import build_features, default_as_of
    from segtui.core.source import open_source

    shop = open_source(args.shop)
    as_of = default_as_of(shop.con, shop.table_names)
    steps: dict[str, float] = {}

    def once():
        last = [time.perf_counter(), None]

        def progress(step, fraction):
            now = time.perf_counter()
            if last[1]:
                steps[last[1]] = min(steps.get(last[1], 1e9), now - last[0])
            last[:] = [now, step]

        build_features(shop.con, as_of, shop.table_names, shop.present_columns, progress)

    cpu: list[float] = []
    times = timed(once, 1, cpu)
    first_rss = peak_rss_mb()  # what one build costs; later runs in this process add allocator residue
    times += timed(once, args.runs - 1, cpu)
    rows = shop.con.execute("SELECT count(*) FROM customer_features").fetchone()[0]
    return {"times": times, "cpu": cpu, "rows": rows, "steps": steps, "first_run_rss_mb": first_rss}


def w_build_core(args) -> dict:
    """segtui's core features (orders only) against the same features written by hand."""
    from segtui.core.features import build_features, default_as_of
    from segtui.core.source import open_source

    shop = open_source(args.shop)
    as_of = default_as_of(shop.con, shop.table_names)
    present = {"orders": {"customer_id", "ordered_at", "total", "order_id"}}
    times = timed(lambda: build_features(shop.con, as_of, {"orders"}, present, only=CORE), args.runs)
    con = attach(Path(args.shop))
    sql = BASELINE_SQL.format(as_of=as_of.isoformat())
    base = timed(lambda: con.execute(sql), args.runs)
    # the two must agree, or the comparison means nothing
    check = "SELECT count(*), sum(orders), sum(orders_365d), round(sum(total_spent), 2) FROM {} WHERE orders > 0"
    ours = shop.con.execute(check.format("customer_features")).fetchone()
    theirs = con.execute(check.format("baseline_core")).fetchone()
    if ours != theirs:
        raise AssertionError(f"segtui and the hand-written SQL disagree: {ours} != {theirs}")
    return {"times": times, "baseline": base}


def w_pandas(args) -> dict:
    try:
        import pandas as pd  # noqa: F401
    except ImportError:
        return {"skipped": "pandas is not installed (pip install pandas)"}
    from segtui.core.features import default_as_of
    from segtui.core.source import open_source

    shop = open_source(args.shop)
    as_of = default_as_of(shop.con, shop.table_names)
    raw = attach(Path(args.shop))

    def once():
        df = raw.execute("SELECT customer_id, order_id, ordered_at, total FROM src.orders").df()
        df = df[df.customer_id.notna() & df.ordered_at.notna() & (df.ordered_at < pd.Timestamp(as_of) + pd.Timedelta(days=1))]
        df["total"] = df["total"].fillna(0)
        df["days_ago"] = (pd.Timestamp(as_of) - df.ordered_at.dt.normalize()).dt.days
        g = df.groupby("customer_id")
        out = pd.DataFrame({
            "orders": g.order_id.nunique(), "total_spent": g.total.sum(),
            "first_order_at": g.ordered_at.min(), "last_order_at": g.ordered_at.max(),
            "days_since_last_order": g.days_ago.min(), "days_since_first_order": g.days_ago.max(),
            "orders_365d": df[df.days_ago < 365].groupby("customer_id").order_id.nunique(),
        })
        out["orders_365d"] = out.orders_365d.fillna(0)
        out["avg_order_value"] = out.total_spent / out.orders
        gap = (out.days_since_first_order - out.days_since_last_order) / (out.orders - 1).where(out.orders > 1)
        out["avg_days_between_orders"] = gap
        out["overdue_ratio"] = out.days_since_last_order / gap.where(gap != 0)
        out["spend_percentile"] = 100 * (out.total_spent.rank(method="min") - 1) / max(len(out) - 1, 1)
        return out

    return {"times": timed(once, args.runs)}


def w_reopen(args) -> dict:
    from segtui.core.source import open_source
    from segtui.core.workspace import open_workspace, resolve_as_of

    start = time.perf_counter()
    open_workspace(args.shop, use_cache=True).close()  # builds and stores unless already cached
    first = time.perf_counter() - start
    times = timed(lambda: open_workspace(args.shop, use_cache=True).close(), args.runs)

    def floor():
        shop = open_source(args.shop)
        resolve_as_of(shop, None)
        shop.close()

    return {"times": times, "baseline": timed(floor, args.runs), "first_open": first}


def _workspace(args):
    from segtui.core.workspace import open_workspace

    return open_workspace(args.shop, use_cache=True)


def w_counts(args) -> dict:
    ws = _workspace(args)
    usable = [s for s in ws.catalog.compiled if s.usable]
    times = timed(ws.count_all, args.runs)
    sql = "SELECT count(*), " + ", ".join(f"count_if({s.sql})" for s in usable) + " FROM customer_features"
    base = timed(lambda: ws.con.execute(sql).fetchall(), args.runs)
    return {"times": times, "baseline": base, "segments": len(usable)}


def w_adhoc(args) -> dict:
    ws = _workspace(args)
    runs = max(args.runs, 5)
    times = timed(lambda: ws.count(ADHOC), runs)  # compile (sqlglot + checks) and count
    raw = "SELECT count(*) FROM customer_features WHERE orders >= 2 AND days_since_last_order > 60 AND main_device = 'mobile'"
    base = timed(lambda: ws.con.execute(raw).fetchall(), runs)
    return {"times": times, "baseline": base}


def w_customer(args) -> dict:
    """One customer's story (the explorer's enter on a member, `segtui customer`): the first
    ask of a workspace (medians, segment conditions) and the next ones, against reading the
    customer's feature row alone."""
    ws = _workspace(args)
    ids = [row[0] for row in ws.con.execute(
        "SELECT customer_id FROM customer_features WHERE orders > 0 ORDER BY hash(customer_id) LIMIT 6").fetchall()]
    first = timed(lambda: ws.customer(ws.con, ids[0]), 1)
    rest = iter(ids[1:] * max(1, args.runs))
    times = first + timed(lambda: ws.customer(ws.con, next(rest)), max(args.runs, 5))
    base = timed(lambda: ws.con.execute("SELECT * FROM customer_features WHERE customer_id = ?", [ids[1]]).fetchall(),
                 max(args.runs, 5))
    return {"times": times[1:], "first": first, "baseline": base}


def w_predict(args) -> dict:
    """`segtui predict` at this size: its per-customer summary SQL against a hand-written
    DuckDB query of the same counts, then both fits (on a sample of at most FIT_SAMPLE
    buyers), and every buyer's predictions (the predictive feature family)."""
    from segtui.core import predict as P
    from segtui.core.workspace import open_workspace

    ws = open_workspace(args.shop, fields=set(), use_cache=True)
    as_of = ws.as_of
    summary = timed(lambda: P.load_summary(ws.con, as_of), args.runs)
    # the same summary (purchase days, frequency, recency, age, mean repeat spend) as one would
    # write it for DuckDB alone, fetched the same way
    hand = (f"SELECT customer_id, count(*) - 1 AS frequency, max(d) - min(d) AS recency_days, "
            f"DATE '{as_of}' - min(d) AS t_days, (sum(spend) - arg_min(spend, d)) / nullif(count(*) - 1, 0) "
            f"AS repeat_spend FROM (SELECT customer_id, CAST(ordered_at AS DATE) AS d, sum(coalesce(total, 0)) AS spend "
            f"FROM orders WHERE customer_id IS NOT NULL AND ordered_at < DATE '{as_of}' + INTERVAL 1 DAY GROUP BY ALL) "
            f"GROUP BY customer_id ORDER BY customer_id")
    base = timed(lambda: ws.con.execute(hand).fetchnumpy(), args.runs)
    data = P.load_summary(ws.con, as_of)
    sample = P.fit_sample(data)

    def fit() -> None:
        P.fit_bgnbd(data.x[sample], data.t_x[sample], data.T[sample])
        P.fit_gamma_gamma(data.x[sample], data.m[sample])

    fits = timed(fit, args.runs)
    scores = timed(lambda: P.register_scores(ws.con, as_of), args.runs)
    return {"times": summary, "baseline": base, "fit": fits, "family": scores, "buyers": len(data.x),
            "fitted": len(sample)}


def w_export(args) -> dict:
    from segtui.core.export import export_members

    ws = _workspace(args)
    total = ws.total()
    rows = min(args.rows, total)
    cut = ws.con.execute(
        f"SELECT customer_id FROM customer_features ORDER BY customer_id LIMIT 1 OFFSET {rows - 1}"
    ).fetchone()[0]
    where = "TRUE" if rows >= total else f"customer_id <= {cut!r}"
    folder = Path(tempfile.mkdtemp(prefix="segtui-bench-"))
    out = folder / f"members.{args.format}"
    times = timed(lambda: export_members(ws.con, where, out, force=True, rows_sorted=ws.features.rows_sorted), args.runs)
    options = "FORMAT parquet, COMPRESSION zstd" if args.format == "parquet" else "FORMAT csv, HEADER true"
    plain = folder / f"plain.{args.format}"
    base = timed(lambda: ws.con.execute(f"COPY (SELECT * FROM customer_features WHERE {where}) TO '{plain}' ({options})"), args.runs)
    size = out.stat().st_size
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    return {"times": times, "baseline": base, "rows": rows, "bytes": size}


def w_tui(args) -> dict:
    """Time to the first frame and to the segment counts on screen, headless (App.run_test)."""
    import asyncio

    try:
        from segtui.tui.app import SegtuiApp
    except ImportError as exc:
        return {"skipped": f"the explorer is not importable: {exc}"}
    from textual.app import App
    from textual.widgets import Static

    class Minimal(App):
        def compose(self):
            yield Static("hello")

    async def measure_segtui():
        start = time.perf_counter()
        app = SegtuiApp(Path(args.shop))
        apps.append(app)
        async with app.run_test(size=(120, 40)) as pilot:
            frame = time.perf_counter() - start
            # Poll with a plain sleep: Pilot.pause waits for every widget's queue and forces a
            # screen refresh each time, which at 100 Hz kept a core busy and doubled the build
            # it was timing (2 cores).
            while not app.ready.is_set():
                await asyncio.sleep(0.02)
                failed = getattr(app, "_exception", None)  # Textual keeps it until run_test exits
                if failed is not None:
                    raise failed
                if time.perf_counter() - start > 300:
                    raise TimeoutError("the explorer did not show counts within 5 minutes")
            counts = time.perf_counter() - start
            while not app.built.is_set():  # the first counts come after the first build stage
                await asyncio.sleep(0.02)
                if time.perf_counter() - start > 300:
                    raise TimeoutError("the explorer did not finish its build within 5 minutes")
            every = time.perf_counter() - start
            await app.workers.wait_for_complete()  # let the first profile/preview finish before quitting
            await pilot.pause(0.2)
        return frame, counts, every

    async def measure_minimal():
        start = time.perf_counter()
        async with Minimal().run_test(size=(120, 40)):
            return time.perf_counter() - start

    frames, counts, everything, base, apps = [], [], [], [], []
    for _ in range(args.runs):
        cold = getattr(args, "cold", 0) and tempfile.mkdtemp(prefix="cold-", dir=os.environ["SEGTUI_CACHE_DIR"])
        if cold:  # an empty cache folder: the first open builds, and copies into it after the counts
            os.environ["SEGTUI_CACHE_DIR"] = cold
        try:
            f, c, e = asyncio.run(measure_segtui())
        finally:
            # The copy into the cache runs after the counts are shown; the next run starts once
            # it is written, or it would build again instead of reading the cache.
            for done in apps[-1].stores if apps else ():
                done.wait()
            if cold:
                os.environ["SEGTUI_CACHE_DIR"] = str(Path(cold).parent)
                shutil.rmtree(cold, ignore_errors=True)
        frames.append(f)
        counts.append(c)
        everything.append(e)
        base.append(asyncio.run(measure_minimal()))
    return {"times": frames, "counts": counts, "all_counts": everything, "baseline": base}


def w_cli_count(args) -> dict:
    """`segtui count --where CORE_QUESTION` as a whole process, cold (an empty feature cache every
    run) and warm (the entries of the first run), beside a plain DuckDB process that answers the
    same question from the raw orders. Both must print the same number."""
    def process(argv, env=None) -> tuple[float, str]:
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
        return time.perf_counter() - start, proc.stdout.strip()

    plain = ["import duckdb, sys",  # DuckDB draws a progress bar on stdout for a query over 2 s
             "con = duckdb.connect(sys.argv[1], read_only=True)", "con.execute('SET enable_progress_bar = false')",
             "print(con.execute(sys.argv[2]).fetchone()[0])"]
    base, answers = [], set()
    for _ in range(args.runs):
        seconds, out = process([sys.executable, "-c", "; ".join(plain), args.shop, CORE_QUESTION_SQL])
        base.append(seconds)
        answers.add(out)
    command = [sys.executable, "-m", "segtui.cli", "count", args.shop, "--where", CORE_QUESTION]
    cold, warm = [], []
    root = Path(os.environ["SEGTUI_CACHE_DIR"])
    for run in range(args.runs):
        folder = tempfile.mkdtemp(prefix="count-cold-", dir=root)
        seconds, out = process(command, {**os.environ, "SEGTUI_CACHE_DIR": folder})
        cold.append(seconds)
        answers.add(out)
        if run == 0:
            warm_folder = folder
        else:
            shutil.rmtree(folder, ignore_errors=True)
    for _ in range(args.runs):
        seconds, out = process(command, {**os.environ, "SEGTUI_CACHE_DIR": warm_folder})
        warm.append(seconds)
        answers.add(out)
    shutil.rmtree(warm_folder, ignore_errors=True)
    if len(answers) != 1:
        raise AssertionError(f"segtui and the plain query disagree: {sorted(answers)}")
    return {"times": cold, "warm": warm, "baseline": base, "answer": answers.pop()}


def w_imports(args) -> dict:
    """Import time of `segtui --help` and of a headless command; which heavy modules load."""
    heavy = ("textual", "pandas", "pyarrow", "numpy", "sqlglot", "duckdb", "rich")
    result = {}
    for label, argv in (("help", ["--help"]), ("count", ["count", args.shop, "--where", "orders >= 1"])):
        times, loaded = [], set()
        for _ in range(args.runs):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "segtui.cli", *argv],
                                  capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            for line in proc.stderr.splitlines():
                m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
                if m:
                    loaded.add(m.group(3).split(".")[0])
        result[label] = {"times": times, "heavy": sorted(loaded & set(heavy))}
    base = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], capture_output=True), args.runs)
    result["baseline"] = base
    return result


@contextmanager
def _cache_dir(folder: Path):
    """The feature cache in ``folder`` for the block (a worker's own empty cache), then the
    run's own again; the folder is removed."""
    before = os.environ["SEGTUI_CACHE_DIR"]
    os.environ["SEGTUI_CACHE_DIR"] = str(folder)
    try:
        yield
    finally:
        os.environ["SEGTUI_CACHE_DIR"] = before
        shutil.rmtree(folder, ignore_errors=True)


def w_history(args) -> dict:
    """The explorer's background count of every segment at the last 12 month ends, as the
    explorer runs it once its own counts are on screen (its build stored, every segment
    compiled): a second workspace on the shop, timeline.history on it with a third as its
    helper, or in one pass for a shop as small as the explorer builds that way. On a first open
    each earlier date is built and its counts stored; on the next open the stored counts are
    read and the second-to-last date is built. Beside it the explorer itself, each open in a
    process of its own (``w_sparklines``): from the first counts to the sparklines."""
    from segtui.core import timeline
    from segtui.core.workspace import open_workspace
    from segtui.tui.app import HISTORY_ONE_PASS_CUSTOMERS

    with _cache_dir(Path(tempfile.mkdtemp(prefix="history-", dir=os.environ["SEGTUI_CACHE_DIR"]))):
        explorer = open_workspace(args.shop)  # the explorer's build at the last date, stored
        explorer.count_all()
        dates, _ = timeline.trend_dates(explorer.data_range, None, None, "month")

        def run() -> None:
            ws = open_workspace(args.shop, fields=None)
            small = ws.total() <= HISTORY_ONE_PASS_CUSTOMERS  # as the explorer decides
            for _ in timeline.history(ws, dates, helpers=[lambda: open_workspace(args.shop, fields=None)],
                                      one_pass=small):
                pass
            ws.close()

        cold = timed(run, 1)
        warm = timed(run, args.runs)
        explorer.close()
    first, next_ = [], []
    one = argparse.Namespace(runs=1)
    _compile_segtui()
    for _ in range(args.runs):  # each open in a process of its own, as a user starts segtui
        with _cache_dir(Path(tempfile.mkdtemp(prefix="sparklines-", dir=os.environ["SEGTUI_CACHE_DIR"]))):
            for opens in (first, next_):
                result = run_worker(one, "sparklines", Path(args.shop), in_process=False)
                if "error" in result:
                    raise RuntimeError(f"the explorer's sparklines: {result['error']}")
                opens.extend(result["times"])
    return {"times": cold, "warm": warm, "dates": len(dates), "explorer_first": first, "explorer_next": next_}


def _compile_segtui() -> None:
    """Write segtui's bytecode, as ``pip install`` does: a process that starts segtui reads it
    instead of compiling every module (here PYTHONDONTWRITEBYTECODE may be set, and an editable
    install compiles nothing ahead: the explorer's sparklines came 0.6 s later without it)."""
    import compileall

    import segtui

    compileall.compile_dir(str(Path(segtui.__file__).parent), quiet=1)


def w_sparklines(args) -> dict:
    """One open of the explorer on the shop with the cache folder as it is (empty: a first
    open; filled by one: the next), in this process: seconds from the first counts on screen
    to every sparkline drawn."""
    return {"times": [_sparklines_after_counts(args.shop)]}


def _sparklines_after_counts(shop: str) -> float:
    """The explorer (App.run_test) on ``shop``: seconds from the first segment counts on screen
    to every segment's sparkline drawn (the history's last date counted)."""
    import asyncio

    from segtui.tui.app import SegtuiApp

    async def measure() -> float:
        app = SegtuiApp(Path(shop))
        async with app.run_test(size=(120, 40)):
            start = time.perf_counter()
            while not app.ready.is_set():  # a plain sleep: see w_tui
                await asyncio.sleep(0.02)
                if time.perf_counter() - start > 300:
                    raise TimeoutError("the explorer did not show counts within 5 minutes")
            counts = time.perf_counter()
            while app.history is None or not app.history.complete:
                await asyncio.sleep(0.02)
                if time.perf_counter() - counts > 300:
                    raise TimeoutError("the explorer did not draw the sparklines within 5 minutes")
            done = time.perf_counter()
            for stored in app.stores:  # the next open reads what this one copies into the cache
                stored.wait()
        return done - counts

    return asyncio.run(measure())


def w_spark(args) -> dict:
    """Spark local[2] against DuckDB on the same shop read from the same Parquet folder (exported
    once beside the shop): the full feature table of the reference files (written to Spark's
    no-op sink, so that the figure is the computation) and one core-only segment's count, at
    several shuffle partition counts; DuckDB's full build and the count beside them."""
    from segtui.core import portable
    from segtui.core import spark as engine
    from segtui.core.source import open_source
    from segtui.core.workspace import open_workspace

    folder = Path(args.shop).with_suffix(".parquet.d")
    if not folder.is_dir():
        shop = open_source(args.shop)
        staging = Path(tempfile.mkdtemp(prefix=folder.name + "-", dir=folder.parent))
        for table in sorted(shop.table_names):
            shop.con.execute(f"COPY (SELECT * FROM {table}) TO '{staging / (table + '.parquet')}' (FORMAT parquet)")
        shop.close()
        staging.rename(folder)
    duck_build = timed(lambda: open_workspace(folder, use_cache=False).close(), args.runs)
    ws = open_workspace(folder, fields=None, engine="reference", use_cache=False)
    sql = str(ws.segment("Lapsed").sql)

    def duck_count() -> None:
        here = open_workspace(folder, fields=None, use_cache=False)
        here.require(here.fields_of(sql))
        here.count_where(sql)
        here.close()

    duck_counts = timed(duck_count, args.runs)
    spark = engine.session("local[2]")
    engine.register(spark, folder, sorted(ws.shop.table_names))
    everything = portable.query(ws.builder, "spark", fields=list(ws.builder.available_names))
    one = portable.counts_query(ws.builder, "spark", [sql])
    by_partitions = {}
    for partitions in [int(p) for p in args.partitions.split(",")]:
        spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
        build = timed(lambda: spark.sql(everything).write.format("noop").mode("overwrite").save(), args.runs)
        count = timed(lambda: spark.sql(one).collect(), args.runs)
        by_partitions[partitions] = {"build": build, "count": count}
    spark.stop()
    ws.close()
    first = next(iter(by_partitions.values()))
    return {"times": first["build"], "count": first["count"], "baseline": duck_build, "duck_count": duck_counts,
            "by_partitions": by_partitions}


def w_over_time(args) -> dict:
    """Segments over time on an empty feature cache: 12 monthly trend points of a core-only
    filter against 12 separate `segtui count --as-of` processes (each with --no-cache), and the
    RFM transitions between the first and last of those dates against one build of the
    families the RFM segments read."""
    import subprocess

    from segtui.core import timeline
    from segtui.core.workspace import open_workspace

    def fresh():  # each run on an empty cache
        return _cache_dir(Path(tempfile.mkdtemp(prefix="over-time-", dir=os.environ["SEGTUI_CACHE_DIR"])))

    ws = open_workspace(args.shop, fields=None, use_cache=False)
    dates, _ = timeline.trend_dates(ws.data_range, None, None, "month")
    sql = ws.compile(CORE_QUESTION)
    ws.close()

    def trend() -> None:
        with fresh():
            here = open_workspace(args.shop, fields=None)
            timeline.trend(here, sql, dates)
            here.close()

    def counts() -> None:
        for day in dates:
            subprocess.run([sys.executable, "-m", "segtui.cli", "count", args.shop, "--where", CORE_QUESTION,
                            "--as-of", str(day), "--no-cache"], capture_output=True, check=True)

    def transitions(use_cache: bool = True) -> None:
        with fresh():
            here = open_workspace(args.shop, fields=None, use_cache=use_cache)
            timeline.transitions(here, "RFM", dates[0], dates[-1])
            here.close()

    def one_build(use_cache: bool = True) -> None:
        """The RFM families at the last date, stored into the cache as every command stores
        a fresh build (after its answer), as the transitions store both dates'."""
        with fresh():
            here = open_workspace(args.shop, fields=None, use_cache=use_cache)
            segments = [c for c in here.catalog.usable if c.segment.group == "RFM"]
            here.require(set().union(*(here.fields_of(str(c.sql)) for c in segments)))
            if here.pending_store is not None:
                here.pending_store(here.con)
            here.close()

    return {"times": timed(trend, args.runs), "baseline": timed(counts, 1), "dates": len(dates),
            "transitions": timed(transitions, args.runs), "one_build": timed(one_build, args.runs),
            "transitions_no_cache": timed(lambda: transitions(False), args.runs),
            "one_build_no_cache": timed(lambda: one_build(False), args.runs)}


WORKERS = {"cli_count": w_cli_count, "build": w_build, "build_core": w_build_core, "pandas": w_pandas, "reopen": w_reopen,
           "counts": w_counts, "adhoc": w_adhoc, "customer": w_customer, "export": w_export, "tui": w_tui, "imports": w_imports,
           "predict": w_predict, "history": w_history, "sparklines": w_sparklines, "spark": w_spark,
           "over_time": w_over_time}


def run_worker(args, name: str, shop: Path, in_process: bool, **extra) -> dict:
    cmd = [sys.executable, str(HERE), "--worker", name, "--shop", str(shop), "--runs", str(args.runs)]
    for key, value in extra.items():
        cmd += [f"--{key}", str(value)]
    if in_process:
        ns = argparse.Namespace(shop=str(shop), runs=args.runs, **extra)
        result = WORKERS[name](ns)
        result["rss_mb"] = peak_rss_mb()
        return result
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["worker failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def each_in_a_process(args, name: str, shop: Path, **extra) -> dict:
    """The worker run once per process, ``--runs`` times: its lists joined, the peak RSS the
    greatest of one run's (three first opens in one process hold what the allocator kept of
    the earlier ones: 4.3 GB where one takes 2.7 GB)."""
    one = argparse.Namespace(**{**vars(args), "runs": 1})
    results = [run_worker(one, name, shop, args.in_process, **extra) for _ in range(args.runs)]
    failed = next((r for r in results if "error" in r or "skipped" in r), None)
    if failed is not None:
        return failed
    merged = {key: [v for r in results for v in r[key]] for key, value in results[0].items() if isinstance(value, list)}
    merged["rss_mb"] = max(r.get("rss_mb", 0) for r in results)
    return merged


# ---------------------------------------------------------------------------------------------
# the run


def fmt_s(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def row(label, result, target=None, key="times", base_key="baseline", base_label=""):
    times, base = result.get(key) or [], result.get(base_key) or []
    s, b = summary(times), summary(base)
    ratio = s["min"] / b["min"] if s and b and b["min"] else None
    meets = None
    if target is not None and s:
        limit, kind = target
        value = ratio if kind == "ratio" else s["min"]
        meets = value is not None and value <= limit
    return {
        "figure": label, "min": s.get("min"), "median": s.get("median"), "baseline": base_label,
        "base_min": b.get("min"), "base_median": b.get("median"), "ratio": ratio,
        "target": target, "meets": meets, "rss_mb": result.get("rss_mb"),
        "note": result.get("skipped") or result.get("error"),
    }


def render(rows: list[dict]) -> str:
    lines = ["| figure | segtui min | median | baseline | base min | median | ratio | target | met | peak RSS |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        target = ""
        if r["target"]:
            limit, kind = r["target"]
            target = f"≤ {limit}×" if kind == "ratio" else f"< {fmt_s(limit)}"
        met = {True: "yes", False: "**no**", None: ""}[r["meets"]]
        if r["note"]:
            met = r["note"]
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] else ""
        rss = f"{r['rss_mb']:.0f} MB" if r["rss_mb"] else ""
        lines.append(f"| {r['figure']} | {fmt_s(r['min'])} | {fmt_s(r['median'])} | {r['baseline']} | "
                     f"{fmt_s(r['base_min'])} | {fmt_s(r['base_median'])} | {ratio} | {target} | {met} | {rss} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None, help="where generated shops are kept (default: the user cache folder)")
    parser.add_argument("--curve", default="10000,100000", help="smaller sizes for the growth curve (comma-separated)")
    parser.add_argument("--pandas-at", type=int, default=100_000, help="shop size for the pandas baseline")
    parser.add_argument("--count-at", type=int, default=200_000, help="shop size for the count process against plain DuckDB")
    parser.add_argument("--skip-tui", action="store_true")
    parser.add_argument("--in-process", action="store_true", help="no worker processes (faster; RSS is then the whole run's)")
    parser.add_argument("--json", type=Path, default=None)
    # worker mode
    parser.add_argument("--worker", choices=sorted(WORKERS))
    parser.add_argument("--shop")
    parser.add_argument("--rows", type=int, default=0)
    parser.add_argument("--format", default="parquet")
    parser.add_argument("--cold", type=int, default=0, help="tui worker: every run starts with an empty cache")
    parser.add_argument("--partitions", default="2,8,32", help="spark worker: shuffle partition counts to time")
    args = parser.parse_args(argv)

    # One cache folder per run (a worker started by hand gets its own), outside the user's real
    # cache: the reopen figures find the entries the first open wrote, the user's cache is left
    # alone, and the folder (~100 MB per million customers) is removed at the end.
    if not args.worker and args.data is None:  # the shops live in the real cache folder, reused
        from segtui.locations import cache_dir

        args.data = cache_dir() / "bench"
    own_cache = "SEGTUI_CACHE_DIR" not in os.environ or not args.worker
    if own_cache:
        os.environ["SEGTUI_CACHE_DIR"] = tempfile.mkdtemp(prefix="segtui-bench-cache-")
    try:
        if args.worker:
            result = WORKERS[args.worker](args)
            result["rss_mb"] = peak_rss_mb()
            print(json.dumps(result, default=str))
            return 0
        return measure(args)
    finally:
        if own_cache:
            shutil.rmtree(os.environ["SEGTUI_CACHE_DIR"], ignore_errors=True)


def measure(args) -> int:
    """Every figure, each in a worker process (see run_worker), and the tables."""
    from segtui.resources import sample_data_dir

    _compile_segtui()

    data = args.data
    sizes = sorted({int(x) for x in args.curve.split(",") if x.strip()} | {args.customers})
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    shops = {}
    for n in sizes:
        shops[n], took = ensure_shop(data, n, args.seed)
        say(f"shop {n:,} customers: {shops[n]}" + (f" (generated in {took:.1f} s)" if took else " (reused)"))
    if args.count_at not in shops:  # not on the growth curve
        shops[args.count_at], took = ensure_shop(data, args.count_at, args.seed)
        say(f"shop {args.count_at:,} customers: {shops[args.count_at]}" + (f" (generated in {took:.1f} s)" if took else " (reused)"))
    big = shops[args.customers]
    work = lambda name, shop=big, **kw: run_worker(args, name, shop, args.in_process, **kw)  # noqa: E731

    rows, raw = [], {}
    say("feature build (full)…")
    raw["build"] = work("build")
    rows.append(row(f"feature build, all features, {args.customers:,} customers", raw["build"], TARGETS["build_full"]))
    if raw["build"].get("first_run_rss_mb"):
        rows[-1]["figure"] += f" (peak RSS of the first build alone: {raw['build']['first_run_rss_mb']:.0f} MB)"
    # The smaller sizes right after the largest: this VM's speed drifts by up to ~20% over
    # minutes (the same 1M build took 27 to 33 user CPU seconds on 2026-11-25, with no steal),
    # so sizes measured far apart give the curve ratios of the drift, not of the code.
    say("growth curve…")
    curve = []
    for n in sizes:
        result = raw["build"] if n == args.customers else work("build", shops[n])
        t, c = summary(result.get("times") or []), summary(result.get("cpu") or [])
        curve.append({"customers": n, "min": t.get("min"), "cpu_min": c.get("min"), "rss_mb": result.get("rss_mb")})
    say("count processes (cold and warm) vs a plain DuckDB process…")
    for n in sorted({args.count_at, args.customers}):
        result = raw[f"cli_count_{n}"] = work("cli_count", shops[n])
        big_shop = n == args.customers
        rows.append(row(f"`segtui count` cold (empty cache), orders-only filter, {n:,} customers", result,
                        TARGETS["count_cold_big"] if big_shop else TARGETS["count_cold_ratio"],
                        base_label="plain DuckDB process"))
        rows.append(row(f"`segtui count` warm (cached), orders-only filter, {n:,} customers", result,
                        None if big_shop else TARGETS["count_warm_ratio"], key="warm", base_label="plain DuckDB process"))
    say("feature build (core) vs hand-written SQL…")
    raw["build_core"] = work("build_core")
    rows.append(row("feature build, core features", raw["build_core"], TARGETS["build_core"], base_label="hand-written DuckDB SQL"))
    pandas_shop = shops.get(args.pandas_at) or shops[min(sizes, key=lambda n: abs(n - args.pandas_at))]
    pandas_n = next(n for n, p in shops.items() if p == pandas_shop)
    raw["pandas"] = work("pandas", pandas_shop)
    raw["build_core_small"] = work("build_core", pandas_shop)
    r = row(f"core features at {pandas_n:,} (segtui vs pandas)", {**raw["build_core_small"], "baseline": raw["pandas"].get("times")},
            base_label="pandas")
    r["note"] = raw["pandas"].get("skipped") or raw["pandas"].get("error")
    rows.append(r)
    say("reopen with cache…")
    raw["reopen"] = work("reopen")
    rows.append(row("reopen with cache", raw["reopen"], TARGETS["reopen"], base_label="open source only (floor)"))
    say("counts…")
    raw["counts"] = work("counts")
    rows.append(row(f"all built-in counts ({raw['counts'].get('segments', '?')} segments, one query)", raw["counts"],
                    TARGETS["counts"], base_label="same filters as count_if"))
    raw["adhoc"] = work("adhoc")
    rows.append(row("ad-hoc 3-condition count (compile + count)", raw["adhoc"], TARGETS["adhoc"], base_label="raw SQL count"))
    say("one customer's story…")
    raw["customer"] = work("customer")
    rows.append(row("one customer's story (features, medians, segments, timeline page)", raw["customer"], None,
                    base_label="the feature row alone"))
    first = raw["customer"].get("first")
    if first:
        rows.append(row("one customer's story, first of a workspace (medians, conditions)", {"times": first},
                        None, base_label=""))
    say("predict: summary, fits, predictions…")
    raw["predict"] = work("predict")
    p = raw["predict"]
    rows.append(row(f"predict: per-customer summary SQL ({p.get('buyers', 0):,} buyers)", p, TARGETS["predict_summary_ratio"],
                    base_label="hand-written DuckDB query"))
    rows.append(row(f"predict: both fits ({p.get('fitted', 0):,} buyers sampled)", {"times": p.get("fit")},
                    TARGETS["predict_fit"], base_label=""))
    rows.append(row("predict: the feature family (summary, fits, every buyer's predictions)", {"times": p.get("family")},
                    None, base_label=""))
    say("over time: 12 monthly trend points, RFM transitions (empty cache)…")
    raw["over_time"] = work("over_time")
    o = raw["over_time"]
    rows.append(row(f"trend, {o.get('dates', 12)} monthly points of a core-only filter, empty cache", o,
                    TARGETS["trend_big"], base_label="separate `count --as-of --no-cache` runs"))
    rows.append(row("transitions of the RFM group between two dates, empty cache", {"times": o.get("transitions"),
                    "baseline": o.get("one_build")}, TARGETS["transitions_ratio"],
                    base_label="one build of the RFM segments' families, stored"))
    rows.append(row("transitions of the RFM group between two dates, --no-cache",
                    {"times": o.get("transitions_no_cache"), "baseline": o.get("one_build_no_cache")}, None,
                    base_label="one build of the RFM segments' families, --no-cache"))
    say("every segment at the last 12 month ends (the explorer's sparklines), demo shop…")
    raw["history"] = work("history", sample_data_dir())
    h = raw["history"]
    rows.append(row("sparklines in the explorer, demo shop, first open: from the first counts on screen to the last",
                    {"times": h.get("explorer_first")}, TARGETS["history_demo"], base_label=""))
    rows.append(row("sparklines in the explorer, demo shop, the next open: from the counts to the last",
                    {"times": h.get("explorer_next")}, TARGETS["history_demo"], base_label=""))
    rows.append(row("the segment history alone, demo shop, first open (after the explorer's build is stored)", h,
                    None, base_label=""))
    rows.append(row("the segment history alone, demo shop, the next open", {"times": h.get("warm")}, None,
                    base_label=""))
    for n_rows in (100_000, 1_000_000):
        for fmt in ("parquet", "csv"):
            key = f"export_{fmt}_{n_rows}"
            say(f"export {n_rows:,} rows to {fmt}…")
            raw[key] = work("export", rows=n_rows, format=fmt)
            target = TARGETS["export_parquet_all"] if (fmt == "parquet" and n_rows == 1_000_000) else None
            got = raw[key].get("rows", n_rows)
            rows.append(row(f"export {got:,} rows to {fmt}", raw[key], target, base_label="plain COPY"))
    if not args.skip_tui:
        for key, label, shop in (("tui_demo", "demo shop", sample_data_dir()),
                                 ("tui_big", f"{args.customers:,} customers (cached)", big),
                                 ("tui_big_cold", f"{args.customers:,} customers (first open, empty cache)", big)):
            say(f"explorer on the {label}…")
            if key == "tui_big_cold":  # each first open a process of its own, as a user's is
                raw[key] = each_in_a_process(args, "tui", shop, cold=1)
            else:
                raw[key] = work("tui", shop)
            demo = key == "tui_demo"
            rows.append(row(f"explorer first frame, {label}", raw[key], TARGETS["tui_demo_frame"] if demo else None,
                            base_label="minimal Textual app"))
            rows.append(row(f"explorer first counts visible, {label}", raw[key], TARGETS["tui_demo_counts"] if demo else
                            TARGETS["tui_big_first_counts"] if key == "tui_big_cold" else None,
                            key="counts", base_label="minimal Textual app"))
            rows.append(row(f"explorer all counts visible, {label}", raw[key], None, key="all_counts",
                            base_label="minimal Textual app"))
    say("import time…")
    raw["imports"] = work("imports", shops[min(sizes)])
    for label in ("help", "count"):
        part = {**raw["imports"].get(label, {}), "baseline": raw["imports"].get("baseline"), "rss_mb": None}
        r = row(f"`segtui {label}` process (heavy modules: {', '.join(part.get('heavy', [])) or 'none'})", part,
                base_label="python -c pass")
        rows.append(r)

    peak = max((r["rss_mb"] or 0) for r in rows)

    header = (f"segtui benchmark — {datetime.now():%Y-%m-%d %H:%M}, {platform.node()}, {os.cpu_count()} CPUs, "
              f"Python {platform.python_version()}, DuckDB {__import__('duckdb').__version__}, runs={args.runs}, "
              f"load average at start {os.getloadavg()[0]:.1f}")
    print(header)
    print()
    print(render(rows))
    print()
    print(f"peak RSS over all figures: {peak:.0f} MB (target < {MEMORY_LIMIT_MB} MB: {'yes' if peak < MEMORY_LIMIT_MB else 'no'})")
    print()
    print("| customers | full build (min) | CPU time (min) | per 1,000 customers | growth vs previous size | peak RSS |")
    print("|---|---|---|---|---|---|")
    previous = None
    for point in curve:
        per_k = point["min"] / point["customers"] * 1000 if point["min"] else None
        growth = ""
        if previous and point["min"] and previous["min"]:
            growth = (f"{point['min'] / previous['min']:.1f}× time for "
                      f"{point['customers'] / previous['customers']:.0f}× customers")
            if point.get("cpu_min") and previous.get("cpu_min"):
                growth += f" ({point['cpu_min'] / previous['cpu_min']:.1f}× CPU)"
        print(f"| {point['customers']:,} | {fmt_s(point['min'])} | {fmt_s(point.get('cpu_min'))} | {fmt_s(per_k)} | "
              f"{growth} | {point['rss_mb'] or 0:.0f} MB |")
        previous = point
    steps = raw["build"].get("steps") or {}
    if steps:
        print()
        print("build steps at the largest size (min over runs): " +
              ", ".join(f"{k} {fmt_s(v)}" for k, v in sorted(steps.items(), key=lambda kv: -kv[1])))
    if args.json:
        args.json.write_text(json.dumps({"header": header, "rows": rows, "curve": curve, "raw": raw}, default=str, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
