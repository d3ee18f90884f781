"""One opened shop, ready to answer: source -> features as of a date -> compiled segments.

This is the headless engine both faces use: the CLI opens one per command, the TUI keeps one
and rebuilds it for another as-of date. It only orchestrates; source, features, segments,
filters and answers do the work.

The question methods take the cursor to run on. The explorer asks from several worker threads
at once and DuckDB wants one cursor per thread, so each worker passes its own
``ws.con.cursor()``; a method whose cursor is optional runs on :attr:`con` without one (the
CLI's single thread).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from segtui.core import answers
from segtui.core.cache import FeatureCache
from segtui.core.check import require_usable
from segtui.core.export import Contacts, export_members, pick_columns
from segtui.core.features import FeatureSet, data_dates, render
from segtui.core.features.build import FeatureBuilder, _drop_feature_table
from segtui.core.filter_memo import FilterMemo, memo_path
from segtui.core.segments import (
    CompiledSegment,
    SegmentCatalog,
    SegmentCounts,
    count_segments,
    count_where,
    load_segments,
)
from segtui.core.source import CONTACT_COLUMNS, Shop, open_source
from segtui.core.stages import Stage, cost_of, plan_stages
from segtui.errors import SegmentError, SourceError
from segtui.locations import user_segments_dir
from segtui.resources import queries_dir, read_query

Progress = Callable[[str, float], None]

#: The copy of a fresh build into the cache, as a share of the whole open: ~2 s of ~19 s at a
#: million customers (benchmarks/README.md). The progress bar keeps that much for it.
STORE_SHARE = 0.1

#: The final join of every family into the table, in seconds at a million customers.
JOIN_SECONDS = 2.3

#: ``open_workspace(fields=ALL)``: every available field (the default).
ALL = object()


@dataclass
class Workspace:
    """One shop as of one date: the segment catalogue compiled against the feature catalogue,
    and ``customer_features`` holding the fields asked for so far (:meth:`require`)."""

    shop: Shop
    builder: FeatureBuilder
    catalog: SegmentCatalog
    segments_dir: Path
    cache: FeatureCache | None = None
    features: FeatureSet | None = None
    #: The dates an as-of may take in this shop (the explorer's as-of dialog shows and checks it).
    data_range: DataRange | None = None
    _stores: list[Callable[[object], None]] = field(default_factory=list)
    #: Held while ``customer_features`` or the families change: a build in stages and a
    #: worker's question that needs a family not built yet share one connection.
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _staging: bool = False  # a build in stages is under way: keep the as-of bases for it
    #: Answers that hold for this shop as of this date, computed once (e.g. the medians a
    #: customer's story shows); keyed by their module.
    memo: dict = field(default_factory=dict)

    @property
    def as_of(self) -> date:
        return self.builder.as_of

    @property
    def con(self):
        return self.shop.con

    @property
    def pending_store(self) -> Callable[[object], None] | None:
        """What copies fresh builds into the feature cache, ``store(con)`` with a cursor of
        :attr:`con`; None when there is nothing to store. The answer comes first. Setting it to
        None hands the copy over (the explorer runs it in a thread of its own)."""
        stores = list(self._stores)
        if not stores:
            return None

        def store(con) -> None:
            for one in stores:
                one(con)
                if one in self._stores:
                    self._stores.remove(one)

        return store

    @pending_store.setter
    def pending_store(self, value: None) -> None:
        if value is not None:
            raise ValueError("only None hands the pending store over")
        self._stores.clear()

    def require(self, fields: Collection[str] | None = None, progress: Progress | None = None) -> FeatureSet:
        """Make ``customer_features`` hold at least ``fields`` (None: every available field)
        and return what it holds.

        Every available field (the explorer, ``segments``, a full export) is a table, read from
        the cache's assembled entry or built and then stored (families and table). Fewer fields
        are a view over just their families, each read from the cache or built: a question
        about orders never waits for the events. A cached full table serves any question.
        During a build in stages a question waits for the family being built, then builds what
        it reads itself (the stages then skip it).
        """
        names = None if fields is None else set(fields) & set(self.builder.available_names)
        if self._holds(names):
            return self.features
        with self._lock:
            if self._holds(names):
                return self.features
            report = progress or (lambda step, fraction: None)
            if self._from_cache(report):
                return self.features
            have = set(self.features.columns) if self.features is not None else set()
            if names is not None and self.features is not None:
                names |= have - {"customer_id"}
            self.builder.ensure(names, lambda step, fraction: report(step, fraction * 0.95), keep_bases=self._staging)
            report("features: joining", 0.95)
            if names is None:
                self._assemble_full()
            else:
                self.features = self.builder.assemble(names, view=True)
                self._store_fresh_families()
            report("features: done", 1.0)
            return self.features

    def require_over(self, spine: str, fields: Collection[str], progress: Progress | None = None) -> FeatureSet:
        """Make ``customer_features`` a view of ``fields`` over ``spine``, a relation of the
        universe's ``customer_id`` made elsewhere (:func:`segtui.core.timeline.customers_as_of`,
        one pass over the data for many dates): the universe family is not built. For
        fields that do not read it (:meth:`FeatureBuilder.reads_universe`)."""
        names = set(fields) & set(self.builder.available_names)
        with self._lock:
            self.builder.ensure(names, progress, universe=False)
            self.features = self.builder.assemble(names, view=True, spine=spine)
            self._store_fresh_families()
            return self.features

    def _holds(self, names: set[str] | None) -> bool:
        if self.features is None:
            return False
        return self._is_full() if names is None else names <= set(self.features.columns)

    def _from_cache(self, report: Progress) -> bool:
        """``customer_features`` from the cache's assembled entry, when it has one."""
        cached = self.cache.load_features(self.con, self.builder) if self.cache is not None else None
        if cached is None:
            return False
        report("features: from cache", 1.0)
        self.features = cached
        return True

    def _taken_from_cache(self, report: Progress) -> None:
        """``customer_features`` from the cache's assembled entry in the midst of a build (made
        elsewhere meanwhile), if there; the families built so far are then stored and dropped."""
        if self._is_full() or not self._from_cache(report):
            return
        self._store_fresh_families()
        builder = self.builder
        self._stores.append(lambda con: builder.close(con))

    def _assemble_full(self) -> None:
        """The full table over the ready families; the families built here and the table are
        then stored (after the answer: :attr:`pending_store`)."""
        self.features = self.builder.assemble(None)
        self._store_fresh_families()
        # a table of its own: the families' tables are no longer read once they are stored
        if self.cache is not None:
            features, cache, builder = self.features, self.cache, self.builder
            self._stores.append(lambda con: cache.store_features(con, builder, features))
            self._stores.append(lambda con: builder.close(con))
        else:
            self.builder.close()

    def _store_fresh_families(self) -> None:
        if self.cache is not None and self.builder.fresh:
            self._stores.append(lambda con: self.builder.store(con))

    def build_in_stages(self, progress: Progress | None = None,
                        elsewhere: Callable[[Progress], bool] | None = None) -> Iterator[Stage]:
        """Build every available field a group of families at a time (``segtui.core.stages``),
        so that the explorer can count each segment as soon as its families are ready.

        After each group ``customer_features`` is a view over every ready family (all their
        fields) and a :class:`Stage` says which; after the last it is the full table, the same
        table and cache entries as ``require(None)``. With the assembled table in the cache,
        one final stage. Count with :meth:`count_ready`, which counts only what a stage holds.
        Progress runs from 0 to 1 over the whole build, by the measured cost of each group.

        ``elsewhere``: called once the first stage was taken, with the progress of the rest;
        True when meanwhile another connection wrote this date's full table to the feature
        cache (``timeline.FullTable``: a small shop's one-pass history builds this date with
        eleven others): the table is then read from there, and only the first stage's families
        are stored. False: the later stages are built here.
        """
        report = progress or (lambda step, fraction: None)
        with self._lock:
            if self._is_full() or self._from_cache(report):
                yield self._stage((), final=True)
                return
        groups = plan_stages(self.builder, [self.fields_of(c.sql) for c in self.catalog.usable])
        weights = [cost_of(group) + 0.1 for group in groups]  # + the view and the count
        weights[-1] += JOIN_SECONDS
        total, done = sum(weights), 0.0
        self._staging = True
        try:
            for index, group in enumerate(groups):
                final = index == len(groups) - 1
                start, share = done / total, (weights[index] - (JOIN_SECONDS if final else 0)) / total
                if index == 1 and elsewhere is not None and self.cache is not None:
                    rest = 1 - start
                    if elsewhere(lambda step, fraction: report(step, start + fraction * rest)):
                        with self._lock:
                            self._taken_from_cache(report)  # then full: the loop ends below
                with self._lock:
                    if self._is_full():
                        break
                    fields = [f.name for f in self.builder.available if f.family in group]
                    self.builder.ensure(fields, lambda step, fraction: report(step, start + fraction * share),
                                        keep_bases=not final)
                    if final:
                        report("features: joining", start + share)
                        self._assemble_full()
                    else:
                        self.features = self.builder.assemble(self.builder.ready_fields(), view=True)
                done += weights[index]
                if not final:
                    yield self._stage(group, final=False)
        finally:
            self._staging = False
        report("features: done", 1.0)
        yield self._stage(groups[-1] if groups else (), final=True)

    def _stage(self, families: Collection[str], final: bool) -> Stage:
        fields = frozenset(self.features.columns[1:])
        return Stage(tuple(families), fields, final, {} if final else self.waiting_for(fields))

    def waiting_for(self, fields: Collection[str]) -> dict[str, tuple[str, ...]]:
        """Each usable segment that reads a field not in ``fields`` -> the families it waits for."""
        waiting = {}
        for compiled in self.catalog.usable:
            needed = self.fields_of(compiled.sql)
            if not needed <= set(fields):
                waiting[compiled.name] = tuple(f for f in self.builder.families_for(needed)
                                               if f not in self.builder.ready)
        return waiting

    def families_to_build(self, sql: str) -> tuple[str, ...]:
        """The families compiled filter SQL reads that are not built yet (in build order):
        what counting it will build first; empty when ``customer_features`` holds its fields."""
        needed = self.fields_of(sql)
        if self._holds(needed):
            return ()
        return tuple(f for f in self.builder.families_for(needed) if f not in self.builder.ready)

    def count_ready(self, cursor=None, skip: Collection[str] = ()) -> SegmentCounts:
        """The usable segments whose fields ``customer_features`` holds now (but those named
        in ``skip``: counted already), and all customers, in one scan. A segment waiting for a
        family is left out, never counted over a missing column."""
        held = set(self.features.columns) if self.features is not None else set()
        ready = [c for c in self.catalog.usable if c.name not in skip and self.fields_of(c.sql) <= held]
        return count_segments(self._on(cursor), ready)

    def _is_full(self) -> bool:
        return self.features is not None and len(self.features.available) == len(self.builder.available)

    def fields_of(self, sql: str) -> set[str]:
        """The fields compiled filter SQL reads (``in_segment`` already inlined)."""
        return self.catalog.memo.referenced(sql) & set(self.builder.available_names)

    def total(self) -> int:
        self.require(set())
        return count_where(self.con, "TRUE")

    def count_all(self, cursor=None) -> SegmentCounts:
        """Every usable segment's members and all customers, in one scan."""
        self.require()
        return count_segments(self._on(cursor), self.catalog.compiled)

    def compile(self, expr: str) -> str:
        return self.catalog.compile(expr)

    def count(self, expr: str, cursor=None) -> int:
        """Members of the filter expression ``expr`` (compiled first: a FilterError if it is not one)."""
        return self.count_where(self.compile(expr), cursor)

    def count_where(self, sql: str, cursor=None) -> int:
        """Members of already compiled filter SQL (a segment's, or :meth:`compile`'s answer);
        the features it reads are made first when this workspace does not hold them yet."""
        self.require(self.fields_of(sql))
        return count_where(self._on(cursor), sql)

    def members(self, sql: str, progress: Progress | None = None) -> int:
        """Members of compiled filter SQL, for a question that needs no count of all customers
        (``segtui count``): what :meth:`count_where` says. When every field the filter reads
        comes from one family whose customers are all in the universe
        (:meth:`FeatureBuilder.lone_family`) and a customer that family has no row for does
        not match (``orders >= 3``, not ``orders = 0``), that family's table alone holds the
        members: the universe (its pass over the events, ~1 s at a million customers) is not
        made."""
        fields = self.fields_of(sql)
        family = None if self._holds(fields) else self._members_family(sql, fields)
        if family is None:
            self.require(fields, progress)
            return count_where(self.con, sql)
        with self._lock:
            self.builder.ensure(fields, progress, universe=False)
            self._store_fresh_families()
        return count_where(self.con, sql, table=f"({self.builder.family_rows(family, fields)}) AS members")

    def needs_universe(self, sql: str) -> bool:
        """Whether :meth:`members` of compiled filter SQL must enumerate every customer."""
        return self._members_family(sql, self.fields_of(sql)) is None

    def _members_family(self, sql: str, fields: Collection[str]) -> str | None:
        """The one family whose table holds every member of ``sql`` (whose ``fields`` it
        reads), or None: its fields come from another or several, or a customer that family
        has no row for (every field at its fill) matches."""
        family = self.builder.lone_family(fields)
        if family is None or count_where(self.con, sql, table=f"({self.builder.absent_row(fields)}) AS absent"):
            return None
        return family

    def column_types(self, cursor) -> dict[str, str]:
        return answers.column_types(cursor)

    def top_values(self, cursor, fields, limit: int = 12) -> dict[str, list[str]]:
        return answers.top_values(cursor, fields, limit)

    def members_page(self, cursor, sql: str, columns, sort: str, descending: bool, offset: int, limit: int) -> list[tuple]:
        return answers.members_page(cursor, sql, columns, sort, descending, offset, limit)

    def near_misses(self, cursor, expr: str, sql: str):
        """Per top-level condition of a filter, who meets every other one and not this one
        (``segtui.core.compare``), on what ``customer_features`` holds now."""
        from segtui.core.compare import near_misses

        return near_misses(self._on(cursor), expr, sql)

    def case_hints(self, cursor, expr: str) -> list[str]:
        """Why a filter may have matched no one: a text value written in another case."""
        held = set(self.features.columns) if self.features is not None else set()
        columns = {name: kind for name, kind in self.catalog.columns.items() if name in held}
        return answers.case_hints(self._on(cursor), expr, columns)

    def profile(self, cursor, sql: str) -> answers.Profile:
        """The selection ``sql`` against all customers; the columns are what ``customer_features``
        holds (no DESCRIBE): during a build in stages, not yet every one of the catalogue."""
        held = self.features.columns if self.features is not None else self.catalog.columns
        return answers.profile(cursor, sql, held)

    def overlap(self, cursor, names: list[str]):
        """How the members of the named segments overlap (``segtui.core.compare.overlap``), on
        what ``customer_features`` holds now."""
        from segtui.core.compare import overlap

        compiled = {c.name: c.sql for c in self.catalog.usable}
        return overlap(self._on(cursor), self.as_of, [(name, compiled[name]) for name in names])

    def reads_predictions(self, sql: str) -> bool:
        """Whether compiled filter SQL reads a field of the predictive models."""
        return any(f.family == "predict" for f in self.builder.available if f.name in self.fields_of(sql))

    def model_check(self, cursor=None):
        """The predictive models as the features use them, and how they did on the last 90
        days (``segtui.core.predict.model_check``); computed once per workspace."""
        if "model" not in self.memo:
            from segtui.core.predict import model_check

            self.memo["model"] = model_check(self._on(cursor), self.as_of)
        return self.memo["model"]

    def customer(self, cursor, customer_id, offset: int = 0, limit: int = 50):
        """One customer's story as of this date (``segtui.core.customer``)."""
        from segtui.core import customer

        return customer.story(self, cursor, customer_id, offset, limit)

    def _on(self, cursor):
        return self.con if cursor is None else cursor

    @property
    def contacts(self) -> Contacts | None:
        """The contact columns of the shop's customers table, for exports; None without any."""
        table = self.shop.tables.get("customers")
        present = tuple(c for c in CONTACT_COLUMNS if table is not None and c in table.present)
        if not present:
            return None
        return Contacts(present, render(read_query("export/contacts.sql"), self.as_of))

    @property
    def export_columns(self) -> list[str]:
        """What an export can write, in its order: customer_id, the contact columns, every
        available feature."""
        contacts = self.contacts.columns if self.contacts is not None else ()
        return ["customer_id", *contacts, *self.builder.available_names]

    @property
    def export_unavailable(self) -> dict[str, str]:
        """Export columns this shop lacks -> what they need, for the message on a --columns name."""
        missing = {c: f"needs customers.{c}" for c in CONTACT_COLUMNS if c not in self.export_columns}
        return {**self.builder.unavailable, **missing}

    def check_export_columns(self, columns: list[str] | None) -> None:
        """Refuse a name that is no export column, before anything is built (ExportError)."""
        pick_columns(self.export_columns, columns, self.export_unavailable)

    def export(self, sql: str, path, columns: list[str] | None = None, force: bool = False, cursor=None,
               stream=None, order: tuple[str, bool] | None = None) -> int:
        """Write the members of compiled filter SQL to ``path`` (``-``: CSV to the binary
        ``stream``), sorted by ``order`` (column, descending) as ``export_members`` says; return
        how many. The features the export writes are made first (all of them
        without ``columns``): the explorer may still be building in stages."""
        self.check_export_columns(columns)
        by = {order[0]} if order is not None else set()
        self.require(None if columns is None else self.fields_of(sql) | set(columns) | by)
        return export_members(self._on(cursor), sql, path, columns, force, rows_sorted=self.features.rows_sorted,
                              contacts=self.contacts, stream=stream, order=order)

    def segment(self, name: str) -> CompiledSegment:
        """A usable segment by name (case-insensitive), or a one-line error saying why not."""
        compiled = self.catalog.find(name)
        if compiled.error:
            raise SegmentError(f"segment '{compiled.name}' is broken: {compiled.error}")
        if not compiled.available:
            raise SegmentError(f"segment '{compiled.name}' is unavailable for this shop: {compiled.reason}")
        return compiled

    def at(self, day: date) -> Workspace:
        """This shop as of another date, on the same connection and segment catalogue: the
        questions over time (``segtui.core.timeline``) ask one per date without opening the
        source again. Nothing is built yet (:meth:`require`).

        The catalogue is shared because it does not depend on the date: what a shop can compute
        follows from its tables and columns. The two workspaces make the same temp tables
        (``feature_core``, ``customer_features``...), so only one of them may hold features at
        a time: :meth:`release` this one before another asks. A date outside the data's range
        is refused as ``--as-of`` is (:meth:`DataRange.refuse`)."""
        problem = self.data_range.refuse(day) if self.data_range is not None else None
        if problem is not None:
            raise SourceError(problem)
        builder = FeatureBuilder(self.con, day, self.shop.table_names, self.shop.present_columns,
                                 engine=self.builder.engine, settings=self.builder.settings)
        cache = self.cache.at(day) if self.cache is not None else None
        builder.cache = cache
        return Workspace(self.shop, builder, self.catalog, self.segments_dir, cache, data_range=self.data_range)

    def release(self, store: bool = True) -> None:
        """Store fresh builds in the cache (unless ``store`` is False: after a failure or
        Ctrl-C), then drop every table this workspace made (its families and
        ``customer_features``); the shop stays open for another date."""
        pending = self.pending_store
        if pending is not None and store:
            pending(self.con)
        self.pending_store = None
        self.builder.close()
        self.features = None
        _drop_feature_table(self.con)

    def reload_segments(self) -> None:
        """Re-read the segment files (after a save)."""
        self.catalog = _catalog(self.catalog.columns, self.shop, self.builder, self.segments_dir, self.catalog.memo)

    def close(self) -> None:
        try:
            self.shop.close()
        finally:
            self.catalog.memo.save()  # after: the connection is let go at once


@dataclass(frozen=True)
class DataRange:
    """The dates an as-of may take: from the first order's date (None: no order with a
    customer) to the last activity's, the latest order or event (the default as-of)."""

    first: date | None
    last: date

    def refuse(self, day: date) -> str | None:
        """Why ``day`` is no as-of date for this data, in one line; None when it is one.

        Before the first order every feature is empty and every count 0; after the last
        activity every customer ages a day per day with nothing to show for it, so that
        "no orders since" cannot be told from "not exported yet". Both read as an answer and
        are a mistake, so both are refused with the range. The default (the last activity)
        is always inside it: a shop exported yesterday and opened today works without
        --as-of, and --as-of today is refused until today's data is in.
        """
        span = f"from {self.first} to {self.last}" if self.first is not None else f"on or before {self.last}"
        if self.first is not None and day < self.first:
            return f"as-of {day} is before the first order ({self.first}); choose a date {span}"
        if day > self.last:
            return f"as-of {day} is after the last activity ({self.last}); choose a date {span}"
        return None


def data_range(shop: Shop) -> DataRange:
    """The shop's :class:`DataRange`; a shop without a single dated order or event is refused."""
    first, latest = data_dates(shop.con, shop.table_names)
    if latest is None:
        raise SourceError(f"{shop.name} has no dated orders or events; see 'segtui check {shop.path}'")
    return DataRange(first, latest)


def resolve_as_of(shop: Shop, as_of: date | None, span: DataRange | None = None) -> date:
    """The as-of date to use: the given one, else the date of the latest order or event.

    A date outside the data's range is refused (:meth:`DataRange.refuse`).
    """
    if span is None:
        require_usable(shop)  # the sentence `segtui check` ends with (check.diagnose), before any date
        span = data_range(shop)
    if as_of is None:
        return span.last
    problem = span.refuse(as_of)
    if problem is not None:
        raise SourceError(problem)
    return as_of


def _catalog(columns: dict[str, str], shop: Shop, builder: FeatureBuilder, segments_dir: Path,
             memo: FilterMemo) -> SegmentCatalog:  # fmt: skip
    segments = load_segments(queries_dir() / "segments", segments_dir if segments_dir.is_dir() else None)
    return SegmentCatalog(segments, columns, builder.unavailable, shop.table_names, memo)


def open_workspace(
    source: str | Path,
    as_of: date | None = None,
    mapping: str | Path | None = None,
    segments_dir: str | Path | None = None,
    progress: Progress | None = None,
    snapshot: bool = False,
    use_cache: bool = True,
    store_later: bool = False,
    fields: Collection[str] | None | object = ALL,
    engine: str = "duckdb",
    discount_rate: float = 0.0,
    span: DataRange | None = None,
) -> Workspace:
    """Open ``source`` as of ``as_of`` and compile every segment; make ``customer_features``
    hold ``fields`` (:data:`ALL`: every available field, as the explorer needs; ``None``:
    nothing yet — call :meth:`Workspace.require` once the question is known).

    ``use_cache``: read and write the feature cache (``segtui.core.cache``). An argument, not
    an environment variable: ``segtui open --no-cache`` hands it to the explorer, which passes
    it here.

    ``discount_rate``: the yearly rate at which ``clv_365d`` discounts future spend (0: none).

    ``store_later``: leave the copy of fresh builds into the cache (~2 s at a million
    customers) to the caller, as :attr:`Workspace.pending_store`: the answer comes first.

    ``span``: the data's dates when they are known elsewhere (a plan over empty stand-ins of
    tables that live on Spark, ``core.spark``; the explorer's second workspace on the shop it
    shows); the source is then not read for them, nor checked again.
    """
    shop = open_source(source, mapping, snapshot=snapshot)
    try:
        if span is None:
            require_usable(shop)  # the sentence `segtui check` ends with (check.diagnose), before any date
            span = data_range(shop)
        day = resolve_as_of(shop, as_of, span)
        builder = FeatureBuilder(shop.con, day, shop.table_names, shop.present_columns, engine=engine,
                                 settings={"discount_rate": discount_rate})
        cache = FeatureCache(shop, day) if use_cache else None
        builder.cache = cache
        folder = Path(segments_dir).expanduser() if segments_dir else user_segments_dir()
        if segments_dir and not folder.is_dir():
            raise SegmentError(f"segments folder not found: {folder}")
        id_type = shop.id_types.get("customer_id", "BIGINT")
        columns = {"customer_id": id_type, **{f.name: f.type for f in builder.available}}
        memo = FilterMemo.shared(memo_path() if use_cache else None)  # compiled filters: no sqlglot for one seen before
        ws = Workspace(shop, builder, _catalog(columns, shop, builder, folder, memo), folder, cache, data_range=span)
        if fields is not None:
            build_progress = progress
            if use_cache and not store_later and progress is not None:  # room left for the copy
                build_progress = lambda step, fraction: progress(step, fraction * (1 - STORE_SHARE))  # noqa: E731
            ws.require(None if fields is ALL else fields, build_progress)
            if not store_later and ws.pending_store is not None:
                if progress is not None:
                    progress("features: saving to the cache", 1 - STORE_SHARE)
                ws.pending_store(shop.con)
        return ws
    except BaseException:
        shop.close()
        raise
