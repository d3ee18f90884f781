"""Build ``customer_features``: one row per customer, every behavioural feature, as of a date.

DuckDB does the work; the SQL lives in ``queries/features/`` (one file per feature family, each
headed by the tables and columns it needs; ``catalog`` reads them) and this module only decides
which files to run, in which order, and how the families meet in the final table:

1. ``base_*.sql`` cut the shop's tables at the as-of day (``orders_asof``, ``events_asof``, ...;
   views for orders and events, which the families scan a few times; tables for the
   deduplicated customers and for the order lines, whose join with their orders is the
   expensive part that three families share). They are the only place the date enters:
   ``:as_of`` becomes a ``DATE 'YYYY-MM-DD'`` literal rendered from a :class:`datetime.date`.
   Every later step reads their ``days_ago`` column (whole days between the row's date and the
   as-of date) instead of the date. ``customers``, ``events`` and ``reviews`` get an *empty*
   base when the shop lacks them, so families that merely draw on them (devices, reviews, the
   universe) can read them unconditionally.
2. Each family file makes one temp table ``feature_<family>`` keyed by customer_id (plus, at
   most, helper tables it names), grouped by the pass over the data that computes it rather
   than by theme: ``core.sql`` is a lean GROUP BY over the orders for the core features and
   ``order_profile.sql`` the second one (discounts, timing, value counts), ``events.sql`` the
   one over the events, ``universe.sql`` also carries what the customers table says. That is
   the performance rule (benchmarks/README.md): at a million customers the cost is the scans
   and hash tables over ~10M orders and ~30M events, so each is hashed as few times as
   possible, and "most frequent value" picks come from per-value counts or one
   ARG_MIN/ARG_MAX per customer instead of a ROW_NUMBER window. ``core`` and ``events`` always
   run (the universe is built from them). A family runs only when one of its fields is
   available (or a columns file reads it); a field whose table or column is missing is left
   out and reported.
   A family may instead be a *columns file*: one SELECT list, no table (``last_action.sql``,
   ``complaints.sql``, ``order_habits.duckdb.sql``). Its columns are computed per customer in
   the final join from columns the passes already keep (``-- reads:`` names those families),
   which saves a table and a join of its own; what such a file reads should be narrow
   (timestamps, counts), not lists: wide payloads are what a join pays for.
3. One ``CREATE TABLE customer_features`` joins the families to the universe (``universe.sql``),
   computes the columns files' columns and fills the values that mean "none of it" (0 orders,
   FALSE abandoned cart, 'none' usage).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime

import duckdb

from segtui.core.features.catalog import (
    _ALWAYS,
    _BASES,
    _EMPTY_BASES,
    _FAMILIES,
    _VALUE_MODE_MACRO,
    FEATURE_TABLE,
    Field,
    _plan,
    _Query,
    count_values,
    load_query,
    render,
)

Progress = Callable[[str, float], None]

# DuckDB's own default is 80% of RAM; bounded, its hash tables spill instead of growing, which
# keeps a million-customer build's resident memory in check (3.6 GB unbounded). Measured at 1M
# on 2026-11-24: 2GB -> 2.2 GB peak but ~12% slower (pricier, devices and the final join spill);
# 3GB -> 2.95 GB peak, 19.6-20.5 s, but three builds in one process (the explorer changing its
# as-of date) reached 3.8 GB; 2.5GB -> 2.65 GB peak, 20.8 s: the chosen middle. Spilled files go
# to the user cache folder, never the working directory.
BUILD_MEMORY_LIMIT = "2.5GB"


@dataclass(frozen=True)
class FeatureSet:
    """What :func:`build_features` made: the as-of date, the columns it has (in table order,
    after ``customer_id``) and, for every field it could not compute, why ("needs events")."""

    as_of: date
    available: tuple[Field, ...]
    unavailable: dict[str, str] = dataclass_field(default_factory=dict)
    #: The table's rows are in customer_id order, so a plain scan yields them sorted (DuckDB
    #: keeps insertion order) and an export need not sort them again. True for a cache entry
    #: (stored sorted), False for a fresh build (its rows come out of hash joins in any order).
    #: Not part of equality: the same features in another row order are the same features.
    rows_sorted: bool = dataclass_field(default=False, compare=False)

    @property
    def columns(self) -> tuple[str, ...]:
        return ("customer_id", *(f.name for f in self.available))


# What each build step costs, in seconds at a million customers (min of 3 builds, benchmark run
# of 2026-11-25 00:06, benchmarks/README.md). The progress fraction moves by these weights, not
# by the number of steps, so the bar runs roughly evenly in time: by count, the eight as-of
# steps (milliseconds, bar the order lines' join) took 40% of the bar in the first 3 s of a 17 s
# build. A step not listed (a fallback file) weighs _OTHER_STEP; only the proportions matter.
_STEP_SECONDS = {
    "as-of data: customers": 0.27, "as-of data: items": 1.2, "features: value lists": 0.22,
    "features: core": 1.59, "features: events": 2.37, "features: universe": 0.42,
    "features: rfm": 0.52, "features: order_profile": 1.74, "features: categories": 1.05,
    "features: views_unbought": 0.45, "features: pricier": 3.16, "features: devices": 0.2,
    "features: reviews": 0.12, "features: returns": 0.4, "features: joining": 2.33,
}
_OTHER_STEP = 0.1
_BASE_STEP = 0.005  # an as-of view: created, not computed


class _Steps:
    """Reports each step's start with the fraction of the planned work done before it."""

    def __init__(self, report: Progress, names: list[str]) -> None:
        self.report = report
        self.weights = {name: _STEP_SECONDS.get(name, _BASE_STEP if name.startswith("as-of") else _OTHER_STEP)
                        for name in names}
        self.done = 0.0

    def start(self, name: str) -> None:
        self.report(name, min(self.done / sum(self.weights.values()), 1.0))
        self.done += self.weights[name]

    def skip(self, name: str) -> None:
        """A planned step that turned out to need no work (a columns file)."""
        self.weights.pop(name, None)


# ---------------------------------------------------------------------------------------------
# Building


def default_as_of(con: duckdb.DuckDBPyConnection, tables: set[str]) -> date | None:
    """The date of the latest order or event: historical data then behaves as if it were today.

    Rows the features ignore (no customer, no timestamp) are ignored here too; None for a shop
    without a single dated order or event.
    """
    parts = []
    if "orders" in tables:
        parts.append("SELECT MAX(ordered_at) AS latest_at FROM orders WHERE customer_id IS NOT NULL")
    if "events" in tables:
        parts.append("SELECT MAX(occurred_at) AS latest_at FROM events WHERE customer_id IS NOT NULL")
    if not parts:
        return None
    row = con.execute(f"SELECT CAST(MAX(latest_at) AS DATE) FROM ({' UNION ALL '.join(parts)}) AS latest").fetchone()
    return row[0] if row else None


def _id_type(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute("DESCRIBE SELECT customer_id FROM orders").fetchall()
    return next(str(r[1]) for r in rows if r[0] == "customer_id")


def build_features(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    tables: set[str],
    present_columns: Mapping[str, set[str]],
    progress: Progress | None = None,
    only: Collection[str] | None = None,
    *,
    engine: str = "duckdb",
) -> FeatureSet:
    """Create or replace ``customer_features`` in ``con`` and say what it holds.

    One row per customer of the universe (customers created on or before the as-of day or
    undated, and everyone with an order or event on or before it), ``customer_id`` first, then
    the available fields in catalogue order; rows in no particular order (sorting a million wide
    rows costs ~1 s, and every reader that shows rows orders them itself: preview, export).
    A field whose table or column the shop lacks is absent, never faked; ``FeatureSet.unavailable`` says what it needs.
    Intermediate temp tables are dropped afterwards. ``only`` (field names) builds just those
    fields and the families they come from, e.g. the core features for the benchmark's
    comparison with hand-written SQL; the others are then absent without a reason.
    ``engine="reference"`` runs only the portable reference files, not their DuckDB overrides
    (the same table; a test compares them).
    """
    tables = set(tables)
    if "orders" not in tables:
        from segtui.errors import SourceError

        raise SourceError("the shop has no orders table; segtui needs at least orders")
    report = progress or (lambda message, fraction: None)
    chosen, available, unavailable = _plan(tables, present_columns, engine=engine)
    if only is not None:
        available = tuple(f for f in available if f.name in set(only))
    wanted = {name for name in chosen if name in _ALWAYS or any(f.family == name for f in available)}
    # ... and the families whose tables they read (whichever of their files runs).
    wanted |= {read for name in wanted for query in chosen[name] for read in query.reads}
    run = [name for name in _FAMILIES if name in wanted]

    bases = ["base_asof.sql"] + [file for table, file in _BASES.items() if table in tables]
    value_columns = {c for family in run for c in chosen[family][0].value_counts}
    base_steps = [f"as-of data: {file.removeprefix('base_').removesuffix('.sql')}" for file in bases]
    # Every family is a step until its file is chosen (a columns file takes none).
    steps = _Steps(report, base_steps + ["features: value lists"] * bool(value_columns)
                   + [f"features: {family}" for family in run] + ["features: joining"])
    created: list[tuple[str, str]] = []  # (kind, name), dropped at the end
    restore = _bound_memory(con)
    try:
        for file, step in zip(bases, base_steps):
            query = load_query(file)
            steps.start(step)
            con.execute(render(query.sql, as_of))
            created.extend(query.creates)
        id_type = _id_type(con)
        for table, (name, columns) in _EMPTY_BASES.items():
            if table not in tables:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({columns.format(id=id_type)})")
                created.append(("TABLE", name))
        # The value-count files run when their columns have few values, else the next file.
        con.execute(_VALUE_MODE_MACRO)
        created.append(("MACRO", "value_mode"))
        if value_columns:  # a distinct scan per column: ~0.5 s at a million customers
            steps.start("features: value lists")
        values = count_values(con, value_columns)
        files = {family: next(q for q in chosen[family] if set(q.value_counts) <= set(values))
                 for family in run}
        values = {c: v for c, v in values.items() if any(c in q.value_counts for q in files.values())}
        for family in run:
            if files[family].is_columns:
                steps.skip(f"features: {family}")  # computed in the final join
        for family in run:
            if files[family].is_columns:
                continue
            steps.start(f"features: {family}")
            con.execute(render(files[family].sql, as_of, values))
            created.extend(files[family].creates)
        # The bases (the order lines above all: ~14M rows at a million customers) are done
        # with: freeing their memory before the final join keeps it from spilling.
        bases_done = [(kind, name) for kind, name in created if kind in ("TABLE", "VIEW")
                      and not name.startswith("feature_")]
        for kind, name in bases_done:
            con.execute(f"DROP {kind} IF EXISTS {name}")
        created = [item for item in created if item not in bases_done]
        steps.start("features: joining")
        con.execute(_final_sql(available, {family: files[family] for family in run}, as_of, values))
    finally:
        for kind, name in reversed(created):
            con.execute(f"DROP {kind} IF EXISTS {name}")
        restore()
    report("features: done", 1.0)
    as_of_day = as_of.date() if isinstance(as_of, datetime) else as_of
    return FeatureSet(as_of_day, available, unavailable)


def _bound_memory(con: duckdb.DuckDBPyConnection) -> Callable[[], None]:
    """Lower the connection's memory limit to BUILD_MEMORY_LIMIT for the build (never raise
    it) and point spilling at the cache folder; return what puts both settings back."""
    from segtui.locations import cache_dir

    limit, temp = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchone()
    try:
        spill = cache_dir() / "spill"
        spill.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
        if _bytes(limit) > _bytes(BUILD_MEMORY_LIMIT):
            con.execute(f"SET memory_limit = '{BUILD_MEMORY_LIMIT}'")
    except (OSError, duckdb.Error):
        pass

    def restore() -> None:
        try:
            con.execute(f"SET memory_limit = '{limit}'")
            con.execute(f"SET temp_directory = '{temp.replace(chr(39), chr(39) * 2)}'")
        except duckdb.Error:
            pass

    return restore


def _bytes(size: str) -> float:
    """'18.8 GiB' or '2GB' (DuckDB's setting syntax) in bytes; anything else counts as unbounded."""
    match = re.fullmatch(r"([\d.]+)\s*([KMGT]?)(I?)B", size.strip().upper())
    if not match:
        return float("inf")
    number, unit, binary = match.groups()
    return float(number) * (1024 if binary else 1000) ** " KMGT".index(unit or " ")


def _final_sql(available: tuple[Field, ...], files: dict[str, _Query], as_of: date,
               values: Mapping[str, list[str]]) -> str:
    """The one CREATE TABLE that joins the families' tables to the universe and computes the
    columns files' columns over them.

    The tables keep their names in the join (``feature_core.orders``), which is how the
    columns files read them. Each column is then cast to its catalogue type, so the table's
    types never depend on the shop's (a count stays BIGINT even when a family had no rows), and
    filled where a family has no row for the customer (0 orders, FALSE abandoned cart).
    """
    used = {f.family for f in available}
    computed = [files[family] for family in files if family in used and files[family].is_columns]
    joined = {family for family in used if not files[family].is_columns}
    joined |= {read for query in computed for read in query.reads}
    spine = files["universe"].table
    inner = [f"{spine}.customer_id"]
    inner += [f"{files[f.family].table}.{f.name}" for f in available if f.family in joined]
    inner += [query.columns(as_of, values) for query in computed]
    joins = ["CROSS JOIN feature_asof"]
    joins += [f"LEFT JOIN {query.table} ON {query.table}.customer_id = {spine}.customer_id"
              for family, query in files.items() if family in joined and family != "universe"]
    outer = ["customer_id"]
    for f in available:
        value = f.name if f.fill is None else f"COALESCE({f.name}, {f.fill})"
        outer.append(f"CAST({value} AS {f.type}) AS {f.name}")
    return (
        f"CREATE OR REPLACE TABLE {FEATURE_TABLE} AS\nSELECT\n    "
        + ",\n    ".join(outer)
        + "\nFROM (\nSELECT\n    " + ",\n    ".join(inner)
        + f"\nFROM {spine}\n" + "\n".join(joins) + "\n) AS joined"
    )


# ---------------------------------------------------------------------------------------------
# Describing


_RANGE_TYPES = ("BIGINT", "INTEGER", "DOUBLE", "TIMESTAMP", "DATE")


def field_stats(con: duckdb.DuckDBPyConnection, feature_set: FeatureSet) -> dict[str, dict]:
    """For ``segtui fields``: per available field, how many customers have a value and either
    its ``min``/``max`` (numbers, dates) or its ``top`` 5 values with their counts (text, flags;
    most frequent first, ties alphabetical)."""
    stats: dict[str, dict] = {}
    ranged = [f for f in feature_set.available if f.type in _RANGE_TYPES]
    if ranged:
        parts = []
        for f in ranged:
            parts += [f"COUNT({f.name})", f"MIN({f.name})", f"MAX({f.name})"]
        row = con.execute(f"SELECT {', '.join(parts)} FROM {FEATURE_TABLE}").fetchone()
        for i, f in enumerate(ranged):
            stats[f.name] = {"non_null": row[3 * i], "min": row[3 * i + 1], "max": row[3 * i + 2]}
    for f in feature_set.available:
        if f.type in _RANGE_TYPES:
            continue
        rows = con.execute(
            f"SELECT {f.name}, COUNT(*) AS n FROM {FEATURE_TABLE} WHERE {f.name} IS NOT NULL "
            f"GROUP BY {f.name} ORDER BY n DESC, {f.name} LIMIT 5"
        ).fetchall()
        non_null = con.execute(f"SELECT COUNT({f.name}) FROM {FEATURE_TABLE}").fetchone()[0]
        stats[f.name] = {"non_null": non_null, "top": [(value, count) for value, count in rows]}
    return {f.name: stats[f.name] for f in feature_set.available}
