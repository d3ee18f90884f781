"""Segments over time: a segment's count at many as-of dates (trend), where a group's members
went between two dates (transitions), and who entered and left a segment (diff).

Every date is answered by the same machinery as ``count --as-of``: a workspace as of that date
on the one opened shop (:meth:`Workspace.at`), which builds (or reads from the feature cache)
only the families the question reads, then is released before the next date. So a trend point
*is* the count at that date by construction; a re-run reads every date's counts from the cache.
What must outlive a date (who was in which segment) is copied into a small temp table of
flags, ``time_from`` and ``time_to``, which the SQL in ``queries/time/`` joins.

For a small shop the segment history builds its dates together, one pass per family with the
date as a column (``features.lift`` rewrites the same files the builder runs, so there is no
second definition to keep equal), and may make the shown date's full table on the way
(:class:`FullTable`). Otherwise each date is built on its own, and what does not depend on
the date is shared instead: the count of all customers at every date comes
from one pass (:func:`universe_sizes`) when the members need no universe, so such a date
builds the filter's one family and nothing else; fields that do not read the universe's own
columns are joined to the list of its customers at each date (:func:`customers_as_of`, from
each customer's first record, found once per connection), not to the universe family; and the
universe's first event days are read once per connection (``universe.duckdb.sql``). At a
million customers, 12 monthly points of a core-only filter: ~12 s on an empty cache
(benchmarks/README.md).
"""

from __future__ import annotations

import calendar
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import combinations

import duckdb

from segtui.core.features import FEATURE_TABLE, FeatureSet, lift
from segtui.core.features.build import _bytes, bound_memory
from segtui.core.features.catalog import ValueDays
from segtui.core.segments import CompiledSegment, SegmentCounts, _closest_name, count_segments, filter_rows, member_flags
from segtui.core.source import quote_str
from segtui.core.workspace import DataRange, Progress, Workspace
from segtui.errors import SegmentError, SegtuiError
from segtui.resources import read_query

#: Trend steps, and how many points a trend has when no --from is given.
EVERY = ("day", "week", "month", "quarter")
DEFAULT_POINTS = 12
#: More dates than this is a mistake (--every day over years), not a question: one build each.
MAX_POINTS = 400

#: The memory a segment history's builds may hold, all its connections together (they spill
#: beyond it): it runs beside the workspace on screen, whose table it must not double. A full
#: build at a million customers peaked at 1.16 GB in 19.6 s with it, against 2.6 GB in ~16 s at
#: the build's own bound.
HISTORY_MEMORY_LIMIT = "1GB"
#: The threads each of a segment history's connections uses: one, so that on a big shop (one
#: connection) the explorer's own questions (a count per keystroke) keep a core while it builds
#: a dozen dates in the background.
HISTORY_THREADS = 1

#: The pseudo-segments of a transition matrix.
NOT_YET = "not yet a customer"
NONE = "none"

FROM_TABLE, TO_TABLE, DIFF_TABLE = "time_from", "time_to", "time_diff"
#: Every date's member flags of a history built in one pass (dropped with the pass).
ONE_PASS_TABLE = "time_flags"


class FullTable:
    """The shown build's request for its full feature table at a history's last date.

    On a small shop a one-pass history builds every family at a dozen dates, its last the date
    on screen: the explorer's own later stages would build that date's families a second
    time. With a ``FullTable`` handed to :func:`history`, the pass is planned for every field
    and, once built, its last date's rows are written to the feature cache as the assembled
    entry (what a next open reads); the shown build, waiting in :meth:`wait`, then reads the
    entry instead of building. :meth:`resolve` is called once, by whichever comes first: the
    entry written (True), or the history unable to give it (False: no one pass, a failed
    write, stopped): the shown build then builds on. The pass's progress is in
    :attr:`fraction`."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.stored = False
        self.fraction = 0.0

    def resolve(self, stored: bool) -> None:
        if not self._done.is_set():
            self.stored = stored
            self._done.set()

    @property
    def resolved(self) -> bool:
        return self._done.is_set()

    def wait(self, check: Callable[[], None], progress: Progress) -> bool:
        """Whether the entry was written, once known; meanwhile ``check`` every 50 ms (it
        raises to stop waiting) and report the pass's progress."""
        reported = None
        while not self._done.wait(0.05):
            check()
            if self.fraction != reported:
                reported = self.fraction
                progress("features: with the segment history", reported)
        return self.stored


class TimeError(SegtuiError):
    """A question over time that cannot be asked as given (dates, groups); one line."""


# --------------------------------------------------------------------------------------------
# dates


def period_start(day: date, every: str) -> date:
    if every == "day":
        return day
    if every == "week":  # ISO weeks: Monday to Sunday
        return day - timedelta(days=day.weekday())
    if every == "month":
        return day.replace(day=1)
    if every == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise ValueError(f"unknown period {every!r}")


def period_end(day: date, every: str) -> date:
    """The last day of the period (day, ISO week ending Sunday, month, quarter) holding ``day``."""
    if every == "day":
        return day
    if every == "week":
        return period_start(day, "week") + timedelta(days=6)
    month = day.month if every == "month" else 3 * ((day.month - 1) // 3) + 3
    return date(day.year, month, calendar.monthrange(day.year, month)[1])


def trend_dates(span: DataRange, start: date | None, end: date | None, every: str = "month") -> tuple[list[date], str | None]:
    """The as-of dates of a trend, oldest first, and a note for stderr (None: nothing to say).

    The last point is ``end`` (default: the last activity, as ``count`` defaults); before it
    the ends of the previous periods (month ends for ``month``). Without ``start``: 12 points
    in all, and those that would fall before the first order are skipped with a note (a shop
    with three months of data gets its three months). With ``start``: ``start`` itself, then
    every period end after it, then ``end``. An explicit date outside the data's range is
    refused as ``--as-of`` is; so is a start after the end, and more than :data:`MAX_POINTS`.
    """
    if every not in EVERY:
        raise TimeError(f"unknown --every {every!r}; use one of {', '.join(EVERY)}")
    for flag, day in (("--from", start), ("--to", end)):
        problem = span.refuse(day) if day is not None else None
        if problem is not None:
            raise TimeError(f"{flag}: {problem}")
    end = end or span.last
    if start is not None and start > end:
        raise TimeError(f"--from {start} is after --to {end}")
    ends: list[date] = []
    previous = period_end(period_start(end, every) - timedelta(days=1), every)
    while (start is not None and previous > start) or (start is None and len(ends) < DEFAULT_POINTS - 1):
        if start is None and span.first is not None and previous < span.first:
            break
        ends.append(previous)
        if len(ends) > MAX_POINTS:
            raise TimeError(f"more than {MAX_POINTS} dates from {start} to {end} by {every}; choose a coarser --every "
                            "or a shorter range")
        previous = period_end(period_start(previous, every) - timedelta(days=1), every)
    dates = sorted(ends) + [end]
    if start is not None and start < dates[0]:
        dates.insert(0, start)
    note = None
    if start is None and len(dates) < DEFAULT_POINTS:
        note = f"the data starts on {span.first}: {len(dates)} of {DEFAULT_POINTS} dates, from {dates[0]}"
    return dates, note


def check_pair(span: DataRange, start: date, end: date) -> None:
    """Two dates to compare: both inside the data's range, the first not after the second."""
    for flag, day in (("--from", start), ("--to", end)):
        problem = span.refuse(day)
        if problem is not None:
            raise TimeError(f"{flag}: {problem}")
    if start > end:
        raise TimeError(f"--from {start} is after --to {end}")


# --------------------------------------------------------------------------------------------
# one date at a time


@contextmanager
def as_of(ws: Workspace, day: date, fields, progress: Progress | None = None) -> Iterator[Workspace]:
    """``ws``'s shop as of ``day`` with ``fields`` built (or read from the cache), released
    (fresh families stored, temp tables dropped) when the block ends."""
    with released(ws.at(day)) as here:
        _require(here, day, fields, progress)
        yield here


def _require(here: Workspace, day: date, fields, progress: Progress | None) -> None:
    """``fields`` built at ``here``'s date. Fields that do not read the universe's own columns
    (country, tenure...) are joined to the list of its customers then (:func:`customers_as_of`),
    not to the universe family: its pass over the customer records is not made for each date."""
    if here.builder.reads_universe(fields):
        here.require(fields, progress)
    else:
        here.require_over(customers_as_of(here, day), fields, progress)


def _steps(progress: Progress | None, dates: Sequence[date]) -> Callable[[int], Progress]:
    """Progress for date ``index`` of ``dates``: each date an equal share of the bar, its
    description the date and the step being built."""
    report = progress or (lambda step, fraction: None)

    def for_date(index: int) -> Progress:
        day = dates[index]
        return lambda step, fraction: report(f"as of {day}: {step.removeprefix('features: ')}",
                                             (index + min(max(fraction, 0.0), 1.0)) / len(dates))

    return for_date


def _snapshot(here: Workspace, table: str, sqls: Sequence[str]) -> None:
    """Keep who is in each filter as of ``here``'s date: one row per customer of the universe then."""
    filter_rows(here.con, f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT customer_id, {member_flags(sqls)} "
                   f"FROM {FEATURE_TABLE}")


def drop_snapshots(ws: Workspace) -> None:
    for table in (FROM_TABLE, TO_TABLE, DIFF_TABLE):
        ws.con.execute(f"DROP TABLE IF EXISTS {table}")


# --------------------------------------------------------------------------------------------
# trend


@dataclass(frozen=True)
class TrendPoint:
    as_of: date
    count: int
    total: int  # every customer as of that date

    @property
    def percent(self) -> float:
        return round(100.0 * self.count / self.total, 2) if self.total else 0.0

    def to_json(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "count": self.count, "percent": self.percent}


def trend(ws: Workspace, sql: str, dates: Sequence[date], progress: Progress | None = None) -> list[TrendPoint]:
    """Members of compiled filter SQL at each date: what ``count --as-of`` says at that date
    (the same build, the same WHERE), with all customers then for the share.

    When the members need no universe (:meth:`Workspace.needs_universe`: a core-only filter
    no one without orders meets), each date builds only the filter's family and the counts of
    all customers come from one pass for every date (:func:`universe_sizes`).

    A date's families are read from the feature cache when there, but each date keeps only its
    two counts there (:meth:`FeatureCache.store_answers`), as the segment history does: a dozen
    dates of a family at a million customers are over a gigabyte, which would push out what the
    explorer reads next; the same trend again reads the counts and builds nothing."""
    fields = ws.fields_of(sql)
    step = _steps(progress, dates)
    universe_free = not ws.needs_universe(sql)
    totals: dict[date, int] | None = None
    points = []
    for index, day in enumerate(dates):
        here = ws.at(day)
        stored = _stored_answers(here, fields, [sql])
        if stored is not None:
            step(index)("counts: from the cache", 1.0)
            points.append(TrendPoint(day, stored[sql], stored[""]))
            continue
        if universe_free:
            totals = totals if totals is not None else universe_sizes(ws, dates)
            with released(here, store=False) as built:
                n, total = built.members(sql, step(index)), totals[day]
        else:
            with released(here, store=False) as built:
                _require(built, day, fields, step(index))
                total, n = filter_rows(built.con, f"SELECT count(*), COALESCE(count_if({sql}), 0) FROM {FEATURE_TABLE}")[0]
        points.append(TrendPoint(day, int(n), int(total)))
        if here.cache is not None:
            here.cache.store_answers(here.builder, fields, {"": int(total), sql: int(n)})
    return points


#: The first day each kind of record puts a customer in the universe (universe.sql): a
#: customers record when it was created (always, without created_at), an order, an event.
_FIRST_DAYS = {
    "customers": "SELECT customer_id, MIN(COALESCE(CAST(created_at AS DATE), DATE '0001-01-01')) AS first_day "
                 "FROM customers WHERE customer_id IS NOT NULL GROUP BY customer_id",
    "orders": "SELECT customer_id, MIN(CAST(ordered_at AS DATE)) AS first_day FROM orders "
              "WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL GROUP BY customer_id",
    "events": "SELECT customer_id, MIN(CAST(occurred_at AS DATE)) AS first_day FROM events "
              "WHERE customer_id IS NOT NULL AND occurred_at IS NOT NULL GROUP BY customer_id",
}


#: Each customer's first day in the universe, made once per connection (:func:`first_days`).
FIRST_DAYS_TABLE = "customer_first_days"
#: The customers of the universe at one date: a view of FIRST_DAYS_TABLE.
CUSTOMERS_VIEW = "customers_at_date"


def first_days(ws: Workspace) -> str:
    """The table of each customer's first day in the universe (the earliest of their records),
    made in one pass over the data the first time a connection asks: the shop is read-only,
    so it holds for the connection's life and for every date."""
    firsts = " UNION ALL ".join(sql for table, sql in _FIRST_DAYS.items() if table in ws.shop.table_names)
    ws.con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {FIRST_DAYS_TABLE} AS SELECT customer_id, "
                   f"MIN(first_day) AS first_day FROM ({firsts}) AS seen GROUP BY customer_id")
    return FIRST_DAYS_TABLE


def customers_as_of(ws: Workspace, day: date) -> str:
    """A view of the ``customer_id`` of every customer in the universe as of ``day``: the rows
    universe.sql makes then, from :func:`first_days`."""
    ws.con.execute(f"CREATE OR REPLACE TEMP VIEW {CUSTOMERS_VIEW} AS SELECT customer_id FROM {first_days(ws)} "
                   f"WHERE first_day <= DATE '{day.isoformat()}'")
    return CUSTOMERS_VIEW


def universe_sizes(ws: Workspace, dates: Sequence[date]) -> dict[date, int]:
    """How many customers the universe has at each of ``dates``, in one pass over the data:
    each customer counts from the first day of their first record."""
    counts = ", ".join(f"count_if(first_day <= DATE '{day.isoformat()}')" for day in dates)
    row = filter_rows(ws.con, f"SELECT {counts} FROM {first_days(ws)}")[0]
    return {day: int(n) for day, n in zip(dates, row)}


@contextmanager
def released(here: Workspace, store: bool = True) -> Iterator[Workspace]:
    """``here`` released when the block ends: fresh families stored (with ``store``), unless
    it failed."""
    try:
        yield here
    except BaseException:
        here.release(store=False)  # no cache copy after a failure or Ctrl-C
        raise
    here.release(store=store)


# --------------------------------------------------------------------------------------------
# transitions


@dataclass(frozen=True)
class Transitions:
    group: str
    start: date
    end: date
    rows: list[str]  # the group's segments, then "none", then "not yet a customer"
    columns: list[str]  # the group's segments, then "none"
    cells: dict[tuple[str, str], int]  # (from, to) -> customers; every pair of rows x columns
    left_out: dict[str, str]  # segments of the group that cannot be counted here -> why

    def row_total(self, name: str) -> int:
        return sum(n for (a, _), n in self.cells.items() if a == name)

    def column_total(self, name: str) -> int:
        return sum(n for (_, b), n in self.cells.items() if b == name)

    def to_json(self) -> dict:
        return {
            "group": self.group, "from": self.start.isoformat(), "to": self.end.isoformat(),
            "cells": [{"from": a, "to": b, "count": self.cells[(a, b)]} for a in self.rows for b in self.columns],
        }


def groups(ws: Workspace) -> list[str]:
    """The segment groups of the catalogue, in its order."""
    return list(dict.fromkeys(c.segment.group for c in ws.catalog.compiled))


def group_segments(ws: Workspace, name: str):
    """(the group's name as written, its usable segments in catalogue order, the others -> why);
    an unknown group is refused with the nearest name."""
    known = groups(ws)
    found = next((g for g in known if g.casefold() == name.strip().casefold()), None)
    if found is None:
        close = _closest_name(name, known)
        hint = f"; did you mean '{close}'?" if close else f"; groups: {', '.join(known)}"
        raise SegmentError(f"unknown group '{name}'{hint}")
    members = [c for c in ws.catalog.compiled if c.segment.group == found]
    usable = [c for c in members if c.usable]
    left_out = {c.name: (c.error or c.reason or "unavailable") for c in members if not c.usable}
    if not usable:
        raise SegmentError(f"no segment of group '{found}' can be counted in this shop: "
                           + "; ".join(f"{n}: {why}" for n, why in left_out.items()))
    return found, usable, left_out


def _overlap_problem(con: duckdb.DuckDBPyConnection, table: str, names: Sequence[str], day: date) -> str | None:
    """The first two segments (in catalogue order) that share customers in ``table``, said in a
    line; None when every customer is in at most one."""
    pairs = list(combinations(range(len(names)), 2))
    if not pairs:
        return None
    row = con.execute("SELECT " + ", ".join(f"count_if(m{i} AND m{j})" for i, j in pairs) + f" FROM {table}").fetchone()
    for (i, j), shared in zip(pairs, row):
        if shared:
            who = "1 customer as of {day} is" if shared == 1 else f"{shared:,} customers as of {day} are"
            return f"{who.format(day=day)} in both '{names[i]}' and '{names[j]}'"
    return None


def transitions(ws: Workspace, group: str, start: date, end: date, first_match: bool = False,
                progress: Progress | None = None) -> Transitions:
    """Customers per (segment of ``group`` at ``start``, segment at ``end``).

    The group's segments are meant to be mutually exclusive (the RFM grid). When two share a
    customer at either date the matrix would count that customer twice, so it is refused,
    naming the pair; ``first_match`` instead puts each customer in the group's first segment
    that holds them (catalogue order, as ``segtui segments`` lists them). Then the margins
    are those of that assignment. A customer in none of them is in "none"; one who was not in
    the universe at ``start`` (no record, order or event yet) is "not yet a customer".
    """
    check_pair(ws.data_range, start, end)
    name, segments, left_out = group_segments(ws, group)
    names = [c.name for c in segments]
    sqls = [str(c.sql) for c in segments]
    fields = set().union(*(ws.fields_of(sql) for sql in sqls))
    step = _steps(progress, [start, end])
    try:
        for index, (day, table) in enumerate(((start, FROM_TABLE), (end, TO_TABLE))):
            with as_of(ws, day, fields, step(index)) as here:
                _snapshot(here, table, sqls)
            problem = None if first_match else _overlap_problem(ws.con, table, names, day)
            if problem is not None:
                raise TimeError(f"the segments of group '{name}' overlap: {problem}; "
                                "pass --first-match to count each customer in the group's first segment that holds them")
        label = "CASE " + " ".join(f"WHEN m{i} THEN {quote_str(n)}" for i, n in enumerate(names)) + f" ELSE {quote_str(NONE)} END"
        sql = read_query("time/transitions.sql").replace("{label}", label)
        found = ws.con.execute(sql, {"not_yet": NOT_YET}).fetchall()
    finally:
        drop_snapshots(ws)
    rows, columns = [*names, NONE, NOT_YET], [*names, NONE]
    cells = {(a, b): 0 for a in rows for b in columns}
    for a, b, n in found:
        cells[(a, b)] = cells.get((a, b), 0) + int(n)
    return Transitions(name, start, end, rows, columns, cells, left_out)


# --------------------------------------------------------------------------------------------
# entered and left


@dataclass(frozen=True)
class Diff:
    start: date
    end: date
    count_from: int
    count_to: int
    entered: int
    left: int
    stayed: int

    def to_json(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "count_from": self.count_from,
                "count_to": self.count_to, "entered": self.entered, "left": self.left, "stayed": self.stayed}


def diff(ws: Workspace, sql: str, start: date, end: date, progress: Progress | None = None, keep: bool = False) -> Diff:
    """Who entered, left and stayed in compiled filter SQL between ``start`` and ``end``.

    Entered: a member at ``end`` who was not one at ``start`` (including a customer who did not
    exist yet); left: the reverse; stayed: both. So entered - left = count(end) - count(start).
    ``keep``: leave the members in the temp table ``time_diff`` (customer_id, change) for
    :func:`write_changes`; the caller drops it (:func:`drop_snapshots`).
    """
    check_pair(ws.data_range, start, end)
    fields = ws.fields_of(sql)
    step = _steps(progress, [start, end])
    try:
        for index, (day, table) in enumerate(((start, FROM_TABLE), (end, TO_TABLE))):
            with as_of(ws, day, fields, step(index)) as here:
                _snapshot(here, table, [sql])
        ws.con.execute(f"CREATE OR REPLACE TEMP TABLE {DIFF_TABLE} AS {read_query('time/diff.sql')}")
        counts = dict(ws.con.execute(f"SELECT change, count(*) FROM {DIFF_TABLE} GROUP BY change").fetchall())
    except BaseException:
        drop_snapshots(ws)
        raise
    if not keep:
        drop_snapshots(ws)
    entered, left, stayed = (int(counts.get(k, 0)) for k in ("entered", "left", "stayed"))
    return Diff(start, end, left + stayed, entered + stayed, entered, left, stayed)


def write_changes(ws: Workspace, end: date, path, force: bool = False, stream=None) -> int:
    """Write the members :func:`diff` kept (``keep=True``): customer_id, change (entered, left
    or stayed) and the contact columns as of ``end``, grouped by change then by customer_id;
    the export's conventions (format by extension, temp file then rename, --force, ``-``)."""
    from segtui.core.export import export_members

    contacts = ws.at(end).contacts
    columns = ["customer_id", "change", *(contacts.columns if contacts is not None else ())]
    return export_members(ws.con, "TRUE", path, columns, force, table=DIFF_TABLE, contacts=contacts, stream=stream,
                          order=("change", False))


__all__ = [
    "DEFAULT_POINTS",
    "EVERY",
    "MAX_POINTS",
    "NONE",
    "NOT_YET",
    "Diff",
    "TimeError",
    "Transitions",
    "TrendPoint",
    "as_of",
    "check_pair",
    "diff",
    "group_segments",
    "groups",
    "period_end",
    "transitions",
    "trend",
    "trend_dates",
    "write_changes",
]


# --------------------------------------------------------------------------------------------
# every segment over the last months (the explorer's sparklines and trend charts)


@dataclass(frozen=True)
class History:
    """Every usable segment's count at each of ``dates`` computed so far (oldest first; None
    where its count failed), all customers at each, and, once the last two dates are done, who
    entered, left and stayed in each segment between them."""

    dates: tuple[date, ...]
    totals: tuple[int, ...]
    counts: dict[str, tuple[int | None, ...]]
    changes: dict[str, Diff]
    complete: bool  # every date asked for is counted


def history(ws: Workspace, dates: Sequence[date], progress: Progress | None = None,
            helpers: Sequence[Callable[[], Workspace]] = (), stopped: threading.Event | None = None,
            one_pass: bool = False, go: threading.Event | None = None,
            full: FullTable | None = None) -> Iterator[History]:
    """Count every usable segment at each date (what ``segtui trend`` says for each), yielding
    what is known after each date that took work (dates read from the cache or built in one
    pass come in one yield): a caller stops (closes the iterator) between dates. At the
    last two dates who was in each segment is kept, so that the last yield holds, per segment,
    who entered, left and stayed since the date before (what ``segtui diff`` says).

    One workspace per date on ``ws``'s connection (:meth:`Workspace.at`): ``ws`` itself must not
    hold features meanwhile (the explorer opens a second workspace for this). ``helpers`` open
    more workspaces on the same shop (connections of their own), each counting dates in a
    thread of its own meanwhile, opened only when two dates or more are to be built; the last
    two dates stay on ``ws``, whose members they compare. On a small shop a date is mostly the
    planning of each family's query, and at a million customers its passes over the data: a
    second connection does another date alongside. The connections share
    :data:`HISTORY_MEMORY_LIMIT` and run :data:`HISTORY_THREADS` each. The value lists the
    families count by (devices, OS...) are found once, at the last date, for every date
    (:class:`ValueDays`). ``stopped``: set by
    another thread (with an interrupt of the connections' queries) to end the run while it
    waits for a helper's date.

    A date's families are read from the feature cache when there, but never written to it:
    every family at 12 dates is gigabytes at a million customers, which would push out what
    the next open reads. The counts are stored instead (:meth:`FeatureCache.store_answers`):
    the next run reads them and builds only the last two dates, whose members it compares.

    ``one_pass`` (a small shop): the dates to build are built together with the last two, one
    pass over the data per family (``features.lift``: the date is a column), which pays each
    query's planning once instead of once per date; where that cannot be done, date by date.
    ``go``: the builds wait for it (the explorer's own build still runs), what comes before
    them does not (opening, reading the stored counts, rewriting the one pass's queries).
    ``full``: the shown build waits for its full table from the one pass (:class:`FullTable`):
    the pass is planned for every field and does not wait for ``go``; resolved before
    anything else waits for ``go``."""
    segments = [c for c in ws.catalog.compiled if c.usable]
    names, sqls = [c.name for c in segments], [str(c.sql) for c in segments]
    fields = set().union(*(ws.fields_of(sql) for sql in sqls)) if sqls else set()
    step = _steps(progress, dates)
    totals: list[int] = []
    counts: dict[str, list[int | None]] = {name: [] for name in names}
    last_two = set(range(len(dates))[-2:]) if len(dates) >= 2 else set()
    # the shown build waits for a pass over every date: no date is read from the cache first
    stored = {i: found for i in range(len(dates)) if i not in last_two and not (one_pass and full is not None)
              and (found := _stored_counts(ws.at(dates[i]), segments, fields)) is not None}
    to_build = [i for i in range(len(dates)) if i not in last_two and i not in stored]
    helpers = helpers if len(to_build) >= 2 and not one_pass else ()
    share = len(helpers) + 1
    restore = _history_settings(ws, share)
    told = stopped or threading.Event()
    values: ValueDays | None = None  # the value lists of every date, found once when two or more are built
    early: dict[int, SegmentCounts] = {}
    passed: set[int] = set()  # the dates built in one pass
    pool: _DatePool | None = None
    later: list[Callable[[], None]] = []  # what waits for the last yield: the caller draws first
    try:
        together = [*to_build, *sorted(last_two)] if one_pass and to_build and len(dates) >= 2 else []
        planned = None
        if together and not told.is_set():
            planned = _plan_one_pass(ws, [dates[i] for i in together], None if full is not None else fields,
                                     at_once=full is not None)

        def in_one_pass() -> None:
            nonlocal passed, to_build
            keep = {dates[-2]: FROM_TABLE, dates[-1]: TO_TABLE}
            found_all = _counts_in_one_pass(ws, planned, segments, fields, keep, full, later)
            if found_all is not None:
                for i, found in zip(together, found_all):
                    step(i)("counts: in one pass", 1.0)
                    early[i] = found
                passed = set(together)
                to_build = []

        if planned is not None and full is not None and not told.is_set():
            # The shown build waits for this pass (not for go), its cores idle meanwhile: the
            # pass takes them (the demo's sparklines ~0.1 s sooner, benchmarks/README.md).
            ws.con.execute("RESET threads")
            try:
                in_one_pass()
            finally:
                ws.con.execute(f"SET threads = {HISTORY_THREADS}")
            planned = None
        if full is not None:
            full.resolve(False)  # no pass, or it failed: the shown build builds on
        if go is not None:
            while not go.wait(0.05):
                if told.is_set():
                    return
        if planned is not None and not told.is_set():
            in_one_pass()
        if len({*to_build, *last_two} - set(early)) >= 2:
            values = ws.at(dates[-1]).builder.value_days(fields)
        pool = _DatePool(lambda w, i: _counts_at(w.at(dates[i]), segments, fields, None, step(i), values), to_build,
                         lambda w: _history_settings(w, share), told)
        pool.start(helpers)
        if helpers and not told.is_set():  # the second-to-last date first, while the helpers start on the others
            early[len(dates) - 2] = _counts_at(ws.at(dates[-2]), segments, fields, FROM_TABLE, step(len(dates) - 2),
                                               values)
        for index, day in enumerate(dates):
            if told.is_set():  # an interrupt that came between two queries is lost: this is not
                return
            if index in stored:
                step(index)("counts: from the cache", 1.0)
                found = stored[index]
            elif index in early:
                found = early.pop(index)
            elif index not in last_two:
                found = pool.result(index, ws)
                if found is None:  # stopped from outside
                    return
            else:
                snapshot = FROM_TABLE if index == len(dates) - 2 else TO_TABLE
                found = _counts_at(ws.at(day), segments, fields, snapshot, step(index), values)
            totals.append(found.total)
            for name in names:
                counts[name].append(found.get(name))
            last = index == len(dates) - 1
            if not last and (index + 1 in stored or index + 1 in passed):
                continue  # known already: one yield (one redraw) for the dates that come together
            changes = _changes(ws, names, dates[-2], dates[-1]) if last and len(dates) >= 2 else {}
            yield History(tuple(dates[: index + 1]), tuple(totals), {n: tuple(v) for n, v in counts.items()}, changes,
                          complete=last)
    finally:
        if full is not None:
            full.resolve(False)
        if pool is not None:
            pool.stop()
        for task in later:
            task()
        drop_snapshots(ws)
        restore()


def _history_settings(ws: Workspace, share: int) -> Callable[[], None]:
    """Bound ``ws``'s connection to a ``share``-th of :data:`HISTORY_MEMORY_LIMIT` and to
    :data:`HISTORY_THREADS`; return what puts both back."""
    restore = bound_memory(ws.con, f"{_bytes(HISTORY_MEMORY_LIMIT) / share / 1e6:.0f}MB")
    threads = ws.con.execute("SELECT current_setting('threads')").fetchone()[0]
    ws.con.execute(f"SET threads = {HISTORY_THREADS}")

    def put_back() -> None:
        restore()
        ws.con.execute(f"SET threads = {int(threads)}")

    return put_back


class _DatePool:
    """The dates ``indices`` counted by ``count(workspace, index)`` on several workspaces at
    once: each helper's thread opens its workspace (``settle`` bounds it), takes the next date
    not taken until none is left, and closes it; so does the caller while it waits for the
    one it needs next (:meth:`result`), on its own workspace. A helper's failure is raised to
    the caller."""

    def __init__(self, count: Callable[[Workspace, int], SegmentCounts], indices: Sequence[int],
                 settle: Callable[[Workspace], object], stopped: threading.Event) -> None:
        self._count = count
        self._settle = settle
        self._outside = stopped
        self._todo = list(indices)
        self._done: dict[int, SegmentCounts] = {}
        self._failure: BaseException | None = None
        self._changed = threading.Condition()
        self._stopped = False
        self._threads: list[threading.Thread] = []
        self._open: list[Workspace] = []  # the helpers' workspaces, while they count

    def start(self, helpers: Sequence[Callable[[], Workspace]]) -> None:
        for opener in helpers:
            thread = threading.Thread(target=self._help, args=(opener,), name="segtui-history-helper", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _take(self) -> int | None:
        with self._changed:
            if self._stopped or self._outside.is_set() or not self._todo:
                return None
            return self._todo.pop(0)

    def _help(self, opener: Callable[[], Workspace]) -> None:
        helper = None
        try:
            helper = opener()
            with self._changed:
                if self._stopped:
                    return
                self._open.append(helper)
            self._settle(helper)
            while (index := self._take()) is not None:
                found = self._count(helper, index)
                with self._changed:
                    self._done[index] = found
                    self._changed.notify_all()
        except BaseException as error:  # noqa: BLE001 - handed to the caller, which raises it
            with self._changed:
                if not self._stopped:
                    self._failure = self._failure or error
                self._changed.notify_all()
        finally:
            if helper is not None:
                with self._changed:
                    if helper in self._open:
                        self._open.remove(helper)
                helper.close()

    def result(self, index: int, ws: Workspace) -> SegmentCounts | None:
        """The counts of date ``index``, counting the next dates not taken on ``ws`` meanwhile;
        None once stopped from outside."""
        while True:
            with self._changed:
                if self._outside.is_set():
                    return None
                if index in self._done:
                    return self._done.pop(index)
                if self._failure is not None:
                    raise self._failure
            mine = self._take()
            if mine is not None:
                found = self._count(ws, mine)
                with self._changed:
                    self._done[mine] = found
                continue
            with self._changed:
                if index not in self._done and self._failure is None:
                    self._changed.wait(timeout=0.1)

    def stop(self) -> None:
        """No more dates: interrupt what a helper still runs and wait for its thread."""
        with self._changed:
            self._stopped = True
        for thread in self._threads:
            while thread.is_alive():  # between two queries an interrupt is lost: again until it ends
                with self._changed:
                    running = list(self._open)
                for helper in running:
                    try:
                        helper.con.interrupt()
                    except duckdb.Error:
                        pass
                thread.join(timeout=0.05)


def _stored_answers(here: Workspace, fields, sqls: Sequence[str]) -> dict[str, int] | None:
    """The counts stored at ``here``'s date over ``fields``' families when they hold all
    customers (``""``) and every one of ``sqls``, else None."""
    stored = here.cache.load_answers(here.builder, fields) if here.cache is not None else None
    if stored is None or "" not in stored or not all(sql in stored for sql in sqls):
        return None
    return stored


def _stored_counts(here: Workspace, segments: Sequence[CompiledSegment], fields: set[str]) -> SegmentCounts | None:
    """Every segment's members at ``here``'s date as a history stored them, or None."""
    stored = _stored_answers(here, fields, [str(c.sql) for c in segments])
    return None if stored is None else SegmentCounts({c.name: stored[str(c.sql)] for c in segments}, stored[""])


def _plan_one_pass(ws: Workspace, days: Sequence[date], fields: set[str] | None, at_once: bool = False):
    """The one pass over ``days`` (ascending) rewritten (``features.lift.plan``), or None when
    the rewrite does not know a query or a query fails: the caller then builds date by date,
    which says what failed. ``at_once``: a pass run now, rewritten while it runs
    (``lift.plan_beside``)."""
    try:
        return (lift.plan_beside if at_once else lift.plan)(ws.at(max(days)).builder, days, fields)
    except duckdb.InterruptException:
        raise
    except (duckdb.Error, lift.LiftError):
        return None


def _counts_in_one_pass(ws: Workspace, planned, segments: Sequence[CompiledSegment], fields: set[str],
                        keep: dict[date, str], full: FullTable | None,
                        later: list[Callable[[], None]]) -> list[SegmentCounts] | None:
    """Every segment's members at each date of the pass ``planned`` (:func:`_plan_one_pass`),
    built in one pass per family and counted in one query; who is in each at a date of
    ``keep`` is kept in the table it names. None when a query fails: the caller then builds
    date by date. ``full``: the last date's rows are written to the feature cache first
    (:class:`FullTable`). Storing the counts (as :func:`_counts_at` stores them) and dropping
    what the pass made are put in ``later`` (~30 ms on the demo shop, more beside the
    explorer's drawing, which need not wait for them)."""
    days = planned.dates
    sqls = [str(c.sql) for c in segments]
    made: list[tuple[str, str]] = []
    failed = True
    try:
        made = lift.build_at_dates(planned, None if full is None else lambda done: setattr(full, "fraction", done))
        if full is not None:
            full.resolve(_store_full(ws, days[-1]))
        # every date's flags kept once (the view joins every family), then counted and cut
        flags = ", ".join([lift.DATE, "customer_id", *([member_flags(sqls)] if sqls else [])])
        ws.con.execute(f"CREATE OR REPLACE TEMP TABLE {ONE_PASS_TABLE} AS SELECT {flags} FROM {FEATURE_TABLE}")
        made.append(("TABLE", ONE_PASS_TABLE))
        counts = ", ".join(["count(*)", *(f"count_if(m{index})" for index in range(len(sqls)))])
        rows = {day: row for day, *row in ws.con.execute(
            f"SELECT {lift.DATE}, {counts} FROM {ONE_PASS_TABLE} GROUP BY {lift.DATE}").fetchall()}
        for day, table in keep.items():
            ws.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * EXCLUDE ({lift.DATE}) "
                           f"FROM {ONE_PASS_TABLE} WHERE {lift.DATE} = DATE '{day.isoformat()}'")
        failed = False
    except duckdb.InterruptException:
        raise
    except (duckdb.Error, lift.LiftError):  # a LiftError: from a pass rewritten while it runs
        return None
    finally:
        if failed:  # its tables go before the dates are built one by one
            lift.drop_made(ws.con, made)
        else:
            later.append(functools.partial(lift.drop_made, ws.con, made))
    found = []
    for day in days:
        total, *counts = rows.get(day, [0] * (len(sqls) + 1))
        found.append(SegmentCounts({c.name: int(n) for c, n in zip(segments, counts)}, int(total)))

    def store() -> None:
        for day, here in zip(days, found):
            then = ws.at(day)
            if then.cache is not None:
                then.cache.store_answers(then.builder, fields, {"": here.total, **{sql: here[c.name] for sql, c
                                                                                     in zip(sqls, segments)}})

    later.append(store)
    return found


def _store_full(ws: Workspace, day: date) -> bool:
    """Write the rows at ``day`` of a pass planned for every field to the feature cache, as the
    assembled entry of that date (what the explorer and a next open read); whether it was."""
    then = ws.at(day)
    if then.cache is None:
        return False
    builder = then.builder
    rows = f"SELECT * EXCLUDE ({lift.DATE}) FROM {FEATURE_TABLE} WHERE {lift.DATE} = DATE '{day.isoformat()}'"
    written = then.cache.store_features(ws.con, builder, FeatureSet(day, builder.available, builder.unavailable), rows)
    return written is not None


def _counts_at(here: Workspace, segments: Sequence[CompiledSegment], fields: set[str], snapshot: str | None,
               progress: Progress, values: ValueDays | None = None) -> SegmentCounts:
    """Every segment's members at ``here``'s date, built and counted, the counts then stored
    (:func:`history` reads the stored ones first); with ``snapshot``, who is in each is kept in
    that table. ``values``: the value lists at this date, found once for all dates."""
    cache = here.cache
    if values is not None:
        here.builder.know_values(values)
    with released(here, store=False) as built:
        built.require(fields, progress)
        found = count_segments(built.con, segments)
        if snapshot is not None:
            _snapshot(built, snapshot, [str(c.sql) for c in segments])
    if cache is not None and not found.errors:
        cache.store_answers(here.builder, fields, {"": found.total, **{str(c.sql): found[c.name] for c in segments}})
    return found


def _changes(ws: Workspace, names: Sequence[str], start: date, end: date) -> dict[str, Diff]:
    """Entered, left and stayed per segment between the flags of ``time_from`` and ``time_to``
    (as queries/time/diff.sql decides for one: a customer missing at the start entered)."""
    if not names:
        return {}
    columns = []
    for i in range(len(names)):
        was, now = f"COALESCE(f.m{i}, FALSE)", f"COALESCE(t.m{i}, FALSE)"
        columns += [f"count_if({now} AND NOT {was})", f"count_if({was} AND NOT {now})", f"count_if({was} AND {now})"]
    row = ws.con.execute(f"SELECT {', '.join(columns)} FROM {FROM_TABLE} AS f "
                         f"FULL OUTER JOIN {TO_TABLE} AS t ON f.customer_id = t.customer_id").fetchone()
    changes = {}
    for i, name in enumerate(names):
        entered, left, stayed = (int(v or 0) for v in row[3 * i: 3 * i + 3])
        changes[name] = Diff(start, end, left + stayed, entered + stayed, entered, left, stayed)
    return changes
