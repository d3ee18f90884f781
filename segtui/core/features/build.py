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
   ``order_profile.sql`` the second one (discounts, timing; value counts in its DuckDB override), ``events.sql`` the
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
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import date, datetime

import duckdb

from segtui.core.features.catalog import (
    _BASES,
    _EMPTY_BASES,
    _FAMILIES,
    _VALUE_COLUMNS,
    _VALUE_MODE_MACRO,
    _VALUES_PLACEHOLDER,
    FEATURE_TABLE,
    Field,
    _plan,
    _Query,
    ValueDays,
    count_values,
    find_value_days,
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
    "features: predict": 4.4,  # measured alone at 1M on 2026-12-01: the summary ~3 s, both fits ~1 s
}
_OTHER_STEP = 0.1
_BASE_STEP = 0.005  # an as-of view: created, not computed


def family_seconds(family: str) -> float:
    """What building ``family`` costs, in seconds at a million customers (:data:`_OTHER_STEP`
    for one not measured, such as a columns file, computed in the final join)."""
    return _STEP_SECONDS.get(f"features: {family}", _OTHER_STEP)


def base_seconds(base: str) -> float:
    """What making the as-of object ``base`` costs (the order lines' join is the one that counts)."""
    return {"items_asof": _STEP_SECONDS["as-of data: items"],
            "customers_asof": _STEP_SECONDS["as-of data: customers"]}.get(base, _BASE_STEP)


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


# ---------------------------------------------------------------------------------------------
# Building


def default_as_of(con: duckdb.DuckDBPyConnection, tables: set[str]) -> date | None:
    """The date of the latest order or event: historical data then behaves as if it were today.

    Rows the features ignore (no customer, no timestamp) are ignored here too; None for a shop
    without a single dated order or event.
    """
    return data_dates(con, tables)[1]


def data_dates(con: duckdb.DuckDBPyConnection, tables: set[str]) -> tuple[date | None, date | None]:
    """(the first order's date, the last activity's date: the latest order or event), in one
    pass over each table; rows the features ignore are ignored, None where there is none."""
    sql = data_dates_sql(tables)
    row = con.execute(sql).fetchone() if sql else None
    return (row[0], row[1]) if row else (None, None)


def data_dates_sql(tables: set[str]) -> str | None:
    """The query :func:`data_dates` runs (one row: first, last), None without orders or events."""
    parts = []
    if "orders" in tables:
        parts.append("SELECT MIN(ordered_at) AS first_at, MAX(ordered_at) AS latest_at FROM orders "
                     "WHERE customer_id IS NOT NULL")
    if "events" in tables:
        parts.append("SELECT NULL AS first_at, MAX(occurred_at) AS latest_at FROM events WHERE customer_id IS NOT NULL")
    if not parts:
        return None
    return (f"SELECT CAST(MIN(first_at) AS DATE), CAST(MAX(latest_at) AS DATE) "
            f"FROM ({' UNION ALL '.join(parts)}) AS dates")


def _id_type(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute("DESCRIBE SELECT customer_id FROM orders").fetchall()
    return next(str(r[1]) for r in rows if r[0] == "customer_id")


def _day(as_of: date) -> date:
    if isinstance(as_of, datetime):
        return as_of.date()
    if not isinstance(as_of, date):
        raise TypeError(f"as_of must be a datetime.date, not {type(as_of).__name__}")
    return as_of


# What a file reads, found in its SQL (comments stripped): the tables of other families
# (``feature_core``) and the as-of objects the base files make (``orders_asof``,
# ``categorised_products``). Found, not declared, so that it cannot drift from the SQL.
_COMMENT = re.compile(r"--[^\n]*")
_FAMILY_TABLE = re.compile(r"\bfeature_(\w+)\b")
_AS_OF_OBJECT = re.compile(r"\b(\w+_asof|categorised_products)\b")


def _body(query: _Query) -> str:
    return _COMMENT.sub("", query.sql)


#: The as-of objects whose every customer is in the universe (universe.sql reads them all).
_IN_THE_UNIVERSE = {"feature_asof", "orders_asof", "events_asof", "customers_asof"}


def family_reads(query: _Query) -> set[str]:
    """The families whose tables a file reads (its ``-- reads:`` and every ``feature_<family>``
    in its SQL; ``feature_asof`` is the as-of base, not a family)."""
    found = {name for name in _FAMILY_TABLE.findall(_body(query)) if name != "asof"} | set(query.reads)
    return found - {query.table.removeprefix("feature_")}


def base_reads(query: _Query) -> set[str]:
    """The as-of objects (made by ``base_*.sql``) a file reads."""
    return set(_AS_OF_OBJECT.findall(_body(query))) - {query.table}


def base_files(tables: Collection[str]) -> dict[str, str]:
    """The as-of object each base file of this shop makes -> that file (``orders_asof`` ->
    ``base_orders.sql``), ``feature_asof`` included."""
    files = ["base_asof.sql"] + [file for table, file in _BASES.items() if table in tables]
    return {load_query(file).table: file for file in files}


def computed_by(query: _Query) -> Callable:
    """The Python function a ``-- computed_by: module:function`` file names (imported only when
    the family is built: the predictive models' numpy and scipy cost a command that does not
    read them nothing)."""
    import importlib

    module, _, function = query.computed_by.partition(":")
    return getattr(importlib.import_module(module), function)


def run_order() -> tuple[str, ...]:
    """Families in an order in which every table family comes after the tables it reads."""
    return tuple(_FAMILIES)


class FeatureBuilder:
    """The feature families of one shop as of one date, made on demand in one connection.

    A question names the fields it reads; :meth:`ensure` makes the families those fields come
    from, plus the families those read (found in their SQL) and the universe, each once: from
    the family cache when it has the family (``cache``: see ``segtui.core.cache``), else by
    running its file over the as-of bases, which are themselves made only when a family to
    build reads them and dropped once the families are built. :meth:`assemble` then joins the
    ready families into ``customer_features`` with the question's columns only, as a table
    (the explorer: many queries) or a view (one headless query: the join runs once anyway).

    Families built here are listed in :attr:`fresh` until :meth:`store` copies them into the
    cache: a command answers first and stores after. ``engine`` chooses the files: "duckdb"
    prefers a family's DuckDB override, "reference" runs the portable reference SQL only.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, as_of: date, tables: Collection[str],
                 present_columns: Mapping[str, set[str]], *, engine: str = "duckdb", cache=None,
                 settings: Mapping[str, float] | None = None) -> None:
        tables = set(tables)
        if "orders" not in tables:
            from segtui.errors import SourceError

            raise SourceError("the shop has no orders table; segtui needs at least orders")
        self.con = con
        self.as_of = _day(as_of)
        self.tables = tables
        self.engine = engine
        self.cache = cache
        # keyword arguments of the ``-- computed_by:`` functions (the shop's discount rate): part
        # of those families' cache definition; only values that differ from the default are given
        self.settings = {key: value for key, value in (settings or {}).items() if value}
        self.candidates, self.available, self.unavailable = _plan(tables, present_columns, engine=engine)
        self._bases = base_files(tables)
        self._every_base = base_files(_BASES)  # also the files behind the empty stand-ins
        self._values: dict[str, list[str] | None] = {}  # column -> its values; None: too many
        self._files: dict[str, _Query] = {}  # family -> the file that makes it here
        self.ready: dict[str, str] = {}  # family -> "built" or "cache"
        self.fresh: list[str] = []  # built here, not yet in the cache
        self._made: list[tuple[str, str]] = []  # (kind, name) of everything made, dropped on close
        self._id_type: str | None = None

    # -- planning --------------------------------------------------------------------------

    @property
    def available_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.available)

    def families_for(self, fields: Collection[str] | None = None, universe: bool = True) -> list[str]:
        """The families ``fields`` (None: every available field) need, in run order: their
        own, the universe (unless ``universe`` is False), and what their files read,
        transitively. What a family reads is taken over all its candidate files, so that
        planning never scans the data to choose one (a fallback file that reads less costs at
        most an unneeded family)."""
        names = set(self.available_names) if fields is None else set(fields) & set(self.available_names)
        wanted = ({"universe"} if universe else set()) | {f.family for f in self.available if f.name in names}
        todo = list(wanted)
        while todo:
            family = todo.pop()
            for read in self.reads(family):
                if read not in wanted:
                    wanted.add(read)
                    todo.append(read)
        return [family for family in run_order() if family in wanted]

    def reads(self, family: str) -> set[str]:
        """The families any candidate file of ``family`` reads."""
        return {read for query in self.candidates[family] for read in family_reads(query)}

    def file(self, family: str) -> _Query:
        """The file that makes ``family`` here: the first candidate whose value counts exist."""
        if family not in self._files:
            candidates = self.candidates[family]
            for query in candidates:
                if not query.value_counts or all(self.values(query.value_counts).get(c) is not None
                                                 for c in query.value_counts):
                    self._files[family] = query
                    break
            else:
                self._files[family] = candidates[-1]
        return self._files[family]

    def values(self, columns: Collection[str]) -> dict[str, list[str] | None]:
        """The value lists of ``columns`` (found once per builder: a distinct scan each)."""
        missing = [c for c in columns if c not in self._values]
        if missing:
            for column in missing:
                for view in _VALUE_COLUMNS[column]:
                    self._base(view)
            found = count_values(self.con, missing)
            self._values.update({c: found.get(c) for c in missing})
        return {c: self._values[c] for c in columns}

    def value_days(self, fields: Collection[str] | None = None) -> ValueDays:
        """The value lists of the columns ``fields``' families count values of, at every date
        up to this builder's (:class:`ValueDays`), from one scan of the base views here, which
        are dropped after (a builder of its own for this): a builder at an earlier date takes
        its lists from them (:meth:`know_values`) instead of scanning its own."""
        columns = sorted({column for family in self.families_for(fields) for query in self.candidates[family]
                          for column in _placeholders(query)})
        for column in columns:
            for view in _VALUE_COLUMNS[column]:
                self._base(view)
        try:
            return find_value_days(self.con, columns, self.as_of)
        finally:
            self.drop_bases()

    def know_values(self, days: ValueDays) -> None:
        """Take the value lists at this builder's date from ``days`` (found at a date not
        before it): exactly what :meth:`values` would scan for."""
        self._values.update({c: v for c, v in days.at(self.as_of).items() if c not in self._values})

    # -- making ----------------------------------------------------------------------------

    def lone_family(self, fields: Collection[str]) -> str | None:
        """The one family ``fields`` come from when it has a table of its own, reads no other
        family and only as-of data whose customers are all in the universe (``core``: the
        buyers): its table then has a row for every customer of the universe whose value of
        one of those fields is not its fill value. None otherwise."""
        needed = self.families_for(fields, universe=False)
        if len(needed) != 1 or needed[0] == "universe":
            return None
        query = self.file(needed[0])
        if query.is_columns or family_reads(query) or not base_reads(query) <= _IN_THE_UNIVERSE:
            return None
        return needed[0]

    def absent_row(self, fields: Collection[str]) -> str:
        """A one-row SELECT of ``fields`` as ``customer_features`` has them for a customer no
        family has a row for: each at its fill value (0 orders), else NULL."""
        wanted = set(fields)
        return "SELECT " + ", ".join(_valued(f, "NULL") for f in self.available if f.name in wanted)

    def family_rows(self, family: str, fields: Collection[str]) -> str:
        """A SELECT of ``customer_id`` and ``fields`` over the ready table of ``family`` alone,
        valued as ``customer_features`` values them (:func:`_final_sql`): filled and cast."""
        wanted = set(fields)
        columns = ", ".join(_valued(f, f.name) for f in self.available if f.name in wanted)
        return f"SELECT customer_id, {columns} FROM {self.file(family).table}"

    def ensure(self, fields: Collection[str] | None = None, progress: Progress | None = None, *,
               keep_bases: bool = False, universe: bool = True) -> list[str]:
        """Make every family ``fields`` need that is not ready yet; return the families needed.

        Progress moves by the measured cost of each step (``_STEP_SECONDS``). The build's
        memory is bounded (:data:`BUILD_MEMORY_LIMIT`) and the as-of bases are dropped at the
        end: the order lines alone are ~14M rows at a million customers. ``keep_bases``: a
        build in stages keeps them for its later stages (the order lines' join, 1.2 s at a
        million customers, is shared by three families) and calls :meth:`drop_bases` at its end.
        """
        report = progress or (lambda message, fraction: None)
        restore = bound_memory(self.con)
        try:
            needed = self.families_for(fields, universe)
            todo = [f for f in needed if f not in self.ready]
            if self.cache is not None:
                for family in list(todo):
                    tables = [q for q in self.candidates[family] if not q.is_columns]
                    if tables and self.cache.load_family(self.con, self, family):
                        self._files[family] = tables[0]  # what the data chose when it was built
                        self.ready[family] = "cache"
                        todo.remove(family)
            build = [f for f in todo if not self.file(f).is_columns]
            bases = self._bases_for(build)
            placeholders = sorted({c for f in build for c in _placeholders(self.file(f))} - set(self._values))
            steps = _Steps(report, [f"as-of data: {_base_step(self._bases[b])}" for b in bases if b in self._bases]
                           + ["features: value lists"] * bool(placeholders)
                           + [f"features: {family}" for family in build])
            for base in bases:
                if base in self._bases:  # an empty stand-in for a missing table is no step
                    steps.start(f"as-of data: {_base_step(self._bases[base])}")
                self._base(base)
            if placeholders:  # a distinct scan per column: ~0.5 s at a million customers
                steps.start("features: value lists")
                self.values(placeholders)
            if build and not self._exists("value_mode"):
                self.con.execute(_VALUE_MODE_MACRO)
                self._made.append(("MACRO", "value_mode"))
            for family in build:
                steps.start(f"features: {family}")
                self._build(family)
            for family in todo:
                self.ready.setdefault(family, "columns")
            if not keep_bases:
                self.drop_bases()
            return needed
        finally:
            restore()

    def _build(self, family: str) -> None:
        """Run the file of ``family``: its table is then ready and fresh (not yet stored)."""
        query = self.file(family)
        registered = computed_by(query)(self.con, self.as_of, **self.settings) if query.computed_by else []
        try:
            self.con.execute(_shared(render(query.sql, self.as_of, self._known_values())))
        finally:
            for name in registered:
                self.con.unregister(name)
        self._made.extend(query.creates)
        self.ready[family] = "built"
        self.fresh.append(family)

    def bases_read(self, queries: Collection[_Query]) -> list[str]:
        """The as-of objects ``queries`` read, with what those read, in the order they must be
        made."""
        wanted: list[str] = []

        def add(name: str) -> None:
            if name in wanted:
                return
            if name in self._every_base:
                for read in sorted(base_reads(load_query(self._every_base[name]))):
                    add(read)
            wanted.append(name)

        for query in queries:
            for name in sorted(base_reads(query)):
                add(name)
        return wanted

    def base_files_read(self, queries: Collection[_Query]) -> list[str]:
        """The base files behind :meth:`bases_read` (what a family's definition includes; for a
        table the shop lacks, the file its empty stand-in has the columns of)."""
        return [self._every_base[name] for name in self.bases_read(queries) if name in self._every_base]

    def _bases_for(self, families: Collection[str]) -> list[str]:
        """The as-of objects the families to build read (and ``feature_asof``, which the final
        join reads) that are not made yet, in the order they must be made."""
        wanted = self.bases_read([self.file(family) for family in families])
        wanted += [] if "feature_asof" in wanted else ["feature_asof"]
        return [name for name in wanted if not self._exists(name)]

    def _base(self, name: str) -> None:
        """Make the as-of object ``name`` (and what it reads) unless it exists."""
        if self._exists(name):
            return
        if name in self._bases:
            query = load_query(self._bases[name])
            for read in sorted(base_reads(query)):
                self._base(read)
            self.con.execute(_shared(render(query.sql, self.as_of)))
            self._made.extend(query.creates)
            return
        for table, (empty, columns) in _EMPTY_BASES.items():
            if empty == name and table not in self.tables:
                self._id_type = self._id_type or _id_type(self.con)
                self.con.execute(f"CREATE OR REPLACE TABLE {name} ({columns.format(id=self._id_type)})")
                self._made.append(("TABLE", name))
                return
        raise KeyError(f"no as-of object {name}")

    def _exists(self, name: str) -> bool:
        return any(made == name for _, made in self._made)

    def ready_fields(self) -> set[str]:
        """The available fields whose families (and what those read) are all ready: the
        columns :meth:`assemble` can make now."""
        by_family: dict[str, bool] = {}
        for f in self.available:
            if f.family not in by_family:
                by_family[f.family] = all(family in self.ready for family in self.families_for([f.name]))
        return {f.name for f in self.available if by_family[f.family]}

    def _known_values(self) -> dict[str, list[str]]:
        return {c: v for c, v in self._values.items() if v is not None}

    def drop_bases(self) -> None:
        """Drop the as-of objects but ``feature_asof`` (one row, read by the final join)."""
        keep = []
        for kind, name in self._made:
            if kind in ("TABLE", "VIEW") and not name.startswith("feature_"):
                self.con.execute(f"DROP {kind} IF EXISTS {name}")
            else:
                keep.append((kind, name))
        self._made = keep

    # -- the feature table -------------------------------------------------------------------

    def reads_universe(self, fields: Collection[str]) -> bool:
        """Whether ``fields`` read the universe's table itself: one of its fields, or a
        columns file computed over it. If not, the universe is only the list of customers
        (:meth:`assemble` with a ``spine``)."""
        names = set(fields)
        if any(f.family == "universe" for f in self.available if f.name in names):
            return True
        return any(query.is_columns and "universe" in family_reads(query)
                   for query in map(self.file, self.families_for(names, universe=False)))

    def assemble(self, fields: Collection[str] | None = None, *, view: bool = False,
                 progress: Progress | None = None, spine: str | None = None) -> FeatureSet:
        """Make ``customer_features`` from the ready families: ``customer_id`` and ``fields``
        (None: every available one), in catalogue order; a table, or with ``view`` a view
        that joins them at each query. The families must be ready (:meth:`ensure`).

        ``spine``: a table or view of ``customer_id`` that holds the universe's customers, in
        place of the universe's table (not built then), for fields that do not read it
        (:meth:`reads_universe`)."""
        names = set(self.available_names) if fields is None else set(fields)
        chosen = tuple(f for f in self.available if f.name in names)
        files = {family: self.file(family) for family in self.families_for(f.name for f in chosen)}
        if spine is not None:
            if self.reads_universe(names):
                raise ValueError("these fields read the universe's own columns")
            files["universe"] = replace(files["universe"], table=spine)
        if progress is not None:
            progress("features: joining", 0.0)
        _replace_feature_table(self.con, _final_sql(chosen, files, self.as_of, self._known_values(), view=view))
        return FeatureSet(self.as_of, chosen, self.unavailable)

    def store(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        """Copy the families built here into the cache (``con``: a cursor to write with)."""
        if self.cache is None:
            return
        while self.fresh:
            family = self.fresh[0]
            self.cache.store_family(con or self.con, self, family)
            self.fresh.pop(0)

    def close(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        """Drop what the builder made (its family tables, the as-of objects), with ``con`` (a
        cursor) when given. A table assembled from them stands on its own: once it is made
        and the families are stored, their memory (hundreds of MB at a million customers) is
        given back this way."""
        for kind, name in reversed(self._made):
            try:
                (con or self.con).execute(f"DROP {kind} IF EXISTS {name}")
            except duckdb.Error:
                pass
        self._made = []
        self.ready.clear()


def _placeholders(query: _Query) -> set[str]:
    return {column for column, _ in _VALUES_PLACEHOLDER.findall(_body(query)) if column in _VALUE_COLUMNS}


def _base_step(file: str) -> str:
    return file.removeprefix("base_").removesuffix(".sql")


# Families, ``feature_asof`` and a view over them live in the connection's main schema, not
# its temp one as the files write (their portable SQL names no schema): DuckDB's temp objects
# belong to one connection, and the explorer reads ``customer_features`` from a cursor per
# worker, so a view over families must see them from every cursor.
_TEMP_FAMILY = re.compile(r"\bCREATE\s+OR\s+REPLACE\s+TEMP\s+(TABLE|VIEW)\s+(feature_\w+)", re.IGNORECASE)


def _shared(sql: str) -> str:
    return _TEMP_FAMILY.sub(r"CREATE OR REPLACE \1 \2", sql)


def _replace_feature_table(con: duckdb.DuckDBPyConnection, create: str) -> None:
    """Replace ``customer_features`` (a table or a view) by ``create`` in one transaction: a
    query on another cursor meanwhile reads the old one, never a missing table (the explorer
    counts while its features are built in stages)."""
    kinds = [kind for (kind,) in con.execute(
        f"SELECT 'VIEW' FROM duckdb_views() WHERE view_name = '{FEATURE_TABLE}' AND NOT internal "
        f"UNION ALL SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = '{FEATURE_TABLE}'").fetchall()]
    con.execute("BEGIN TRANSACTION")
    try:
        for kind in kinds:
            con.execute(f"DROP {kind} IF EXISTS {FEATURE_TABLE}")
        con.execute(create)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _drop_feature_table(con: duckdb.DuckDBPyConnection) -> None:
    """``customer_features`` may be a table or a view (a cache entry, a headless question)."""
    for kind in ("VIEW", "TABLE"):
        try:
            con.execute(f"DROP {kind} IF EXISTS {FEATURE_TABLE}")
        except duckdb.CatalogException:
            pass


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
    """Create or replace the table ``customer_features`` in ``con`` and say what it holds.

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
    builder = FeatureBuilder(con, as_of, tables, present_columns, engine=engine)
    report = progress or (lambda message, fraction: None)
    try:
        builder.ensure(only, lambda step, fraction: report(step, fraction * 0.9))
        report("features: joining", 0.9)
        feature_set = builder.assemble(only)
    finally:
        builder.close()
    report("features: done", 1.0)
    return feature_set


def bound_memory(con: duckdb.DuckDBPyConnection, bound: str = BUILD_MEMORY_LIMIT) -> Callable[[], None]:
    """Lower the connection's memory limit to ``bound`` (never raise it); return what puts it
    back. The spill folder is the connection's own, set once where it is opened
    (``segtui.core.source.spill_directory``), never beside the user's data."""
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    if _bytes(limit) <= _bytes(bound):
        return lambda: None  # bound already (the segment history's connection)
    try:
        con.execute(f"SET memory_limit = '{bound}'")
    except duckdb.Error:
        pass

    def restore() -> None:
        try:
            con.execute(f"SET memory_limit = '{limit}'")
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


def _valued(f: Field, column: str) -> str:
    """``column`` as the feature table's column ``f``: filled where a family has no row for
    the customer (0 orders, FALSE abandoned cart) and cast to its catalogue type."""
    value = column if f.fill is None else f"COALESCE({column}, {f.fill})"
    return f"CAST({value} AS {f.type}) AS {f.name}"


def _final_sql(available: tuple[Field, ...], files: dict[str, _Query], as_of: date,
               values: Mapping[str, list[str]], view: bool = False) -> str:
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
    joined &= set(files)
    spine = files["universe"].table
    inner = [f"{spine}.customer_id"]
    inner += [f"{files[f.family].table}.{f.name}" for f in available if f.family in joined]
    inner += [query.columns(as_of, values) for query in computed]
    joins = ["CROSS JOIN feature_asof"]
    joins += [f"LEFT JOIN {query.table} ON {query.table}.customer_id = {spine}.customer_id"
              for family, query in files.items() if family in joined and family != "universe"]
    outer = ["customer_id", *(_valued(f, f.name) for f in available)]
    kind = "VIEW" if view else "TABLE"
    return (
        f"CREATE OR REPLACE {kind} {FEATURE_TABLE} AS\nSELECT\n    "
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
