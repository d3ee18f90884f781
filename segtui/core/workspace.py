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

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from segtui.core import answers
from segtui.core.features import FEATURE_TABLE, FeatureSet, build_features, default_as_of
from segtui.core.segments import CompiledSegment, SegmentCatalog, SegmentCounts, count_segments, count_where, load_segments
from segtui.core.source import Shop, open_source
from segtui.errors import SegmentError, SourceError
from segtui.locations import user_segments_dir
from segtui.resources import queries_dir

Progress = Callable[[str, float], None]

#: The copy of a fresh build into the cache, as a share of the whole open: ~2 s of ~19 s at a
#: million customers (benchmarks/README.md). The progress bar keeps that much for it.
STORE_SHARE = 0.1


@dataclass
class Workspace:
    shop: Shop
    features: FeatureSet
    catalog: SegmentCatalog
    segments_dir: Path
    #: With ``open_workspace(store_later=True)``: what writes this fresh build to the feature
    #: cache, ``store(con)`` with a cursor of :attr:`con`; None when there is nothing to store.
    pending_store: Callable[[object], Path | None] | None = None

    @property
    def as_of(self) -> date:
        return self.features.as_of

    @property
    def con(self):
        return self.shop.con

    def total(self) -> int:
        return count_where(self.con, "TRUE")

    def count_all(self, cursor=None) -> SegmentCounts:
        """Every usable segment's members and all customers, in one scan."""
        return count_segments(self._on(cursor), self.catalog.compiled)

    def compile(self, expr: str) -> str:
        return self.catalog.compile(expr)

    def count(self, expr: str, cursor=None) -> int:
        """Members of the filter expression ``expr`` (compiled first: a FilterError if it is not one)."""
        return self.count_where(self.compile(expr), cursor)

    def count_where(self, sql: str, cursor=None) -> int:
        """Members of already compiled filter SQL (a segment's, or :meth:`compile`'s answer)."""
        return count_where(self._on(cursor), sql)

    def column_types(self, cursor) -> dict[str, str]:
        return answers.column_types(cursor)

    def top_values(self, cursor, fields, limit: int = 12) -> dict[str, list[str]]:
        return answers.top_values(cursor, fields, limit)

    def members_page(self, cursor, sql: str, columns, sort: str, descending: bool, offset: int, limit: int) -> list[tuple]:
        return answers.members_page(cursor, sql, columns, sort, descending, offset, limit)

    def profile(self, cursor, sql: str) -> answers.Profile:
        """The selection ``sql`` against all customers; the columns are the catalog's (no DESCRIBE)."""
        return answers.profile(cursor, sql, self.catalog.columns)

    def _on(self, cursor):
        return self.con if cursor is None else cursor

    def segment(self, name: str) -> CompiledSegment:
        """A usable segment by name (case-insensitive), or a one-line error saying why not."""
        compiled = self.catalog.find(name)
        if compiled.error:
            raise SegmentError(f"segment '{compiled.name}' is broken: {compiled.error}")
        if not compiled.available:
            raise SegmentError(f"segment '{compiled.name}' is unavailable for this shop: {compiled.reason}")
        return compiled

    def reload_segments(self) -> None:
        """Re-read the segment files (after a save). Runs in the explorer's worker threads, so it
        reuses the columns the catalog already knows instead of querying the shared connection."""
        self.catalog = _catalog(self.catalog.columns, self.shop, self.features, self.segments_dir)

    def close(self) -> None:
        self.shop.close()


def resolve_as_of(shop: Shop, as_of: date | None) -> date:
    """The as-of date to use: the given one, else the date of the latest order or event.

    An as-of date before every order and event is refused: every feature would be empty and
    every count 0, which reads as an answer but is a mistake.
    """
    latest = default_as_of(shop.con, shop.table_names)
    if latest is None:
        raise SourceError(f"{shop.name} has no dated orders or events; see 'segtui check {shop.path}'")
    _require_readable_totals(shop)
    if as_of is None:
        return latest
    first = shop.con.execute("SELECT CAST(min(ordered_at) AS DATE) FROM orders WHERE customer_id IS NOT NULL").fetchone()[0]
    if first is not None and as_of < first:
        raise SourceError(f"as-of {as_of} is before the first order ({first}); choose a date from {first} to {latest}")
    return as_of


def _require_readable_totals(shop: Shop) -> None:
    """Refuse a shop whose every total is unreadable: all spend features would silently be 0."""
    if shop.con.execute("SELECT count(total) FROM orders").fetchone()[0]:
        return
    orders = shop.tables["orders"]
    example = shop.con.execute(f"SELECT min(CAST(({orders.exprs['total']}) AS VARCHAR)) FROM {orders.relation}").fetchone()[0]
    if example is not None:
        raise SourceError(
            f"orders.total has no readable number (e.g. {example!r}); map it to a number in segtui.toml, "
            "e.g. [tables.orders] total = \"TRY_CAST(replace(amount, ',', '.') AS DOUBLE)\""
        )


def _catalog(columns: dict[str, str], shop: Shop, features: FeatureSet, segments_dir: Path) -> SegmentCatalog:
    segments = load_segments(queries_dir() / "segments", segments_dir if segments_dir.is_dir() else None)
    return SegmentCatalog(segments, columns, features.unavailable, shop.table_names)


def open_workspace(
    source: str | Path,
    as_of: date | None = None,
    mapping: str | Path | None = None,
    segments_dir: str | Path | None = None,
    progress: Progress | None = None,
    snapshot: bool = False,
    use_cache: bool = True,
    store_later: bool = False,
) -> Workspace:
    """Open ``source``, build its features as of ``as_of`` and compile every segment.

    ``use_cache``: take ``customer_features`` from the feature cache when an entry for this
    source, as-of date and feature SQL exists, and store a fresh build there (see
    ``segtui.core.cache``). An argument, not an environment variable: ``segtui open --no-cache``
    hands it to the explorer, which passes it here.

    ``store_later``: leave the copy of a fresh build into the cache (~2 s at a million customers)
    to the caller, as :attr:`Workspace.pending_store`: the explorer shows the counts first.
    """
    shop = open_source(source, mapping, snapshot=snapshot)
    try:
        day = resolve_as_of(shop, as_of)
        # --- feature cache (issue 7) ---
        features = None
        pending = None
        if use_cache:
            from segtui.core import cache

            key = cache.cache_key(shop, day)
            features = cache.load_features(shop, day, key)
            if features is not None and progress is not None:
                progress("features: from cache", 1.0)
        if features is None:
            build_progress = progress
            if use_cache and not store_later and progress is not None:  # room left for the copy
                build_progress = lambda step, fraction: progress(step, fraction * (1 - STORE_SHARE))  # noqa: E731
            features = build_features(shop.con, day, shop.table_names, shop.present_columns, build_progress)
            if use_cache:
                pending = lambda con: cache.store_features(shop, features, key, con=con)  # noqa: E731
            if pending is not None and not store_later:
                if progress is not None:
                    progress("features: saving to the cache", 1 - STORE_SHARE)
                pending(shop.con)
                pending = None
        # --- end feature cache ---
        folder = Path(segments_dir).expanduser() if segments_dir else user_segments_dir()
        if segments_dir and not folder.is_dir():
            raise SegmentError(f"segments folder not found: {folder}")
        columns = {row[0]: row[1] for row in shop.con.execute(f"DESCRIBE {FEATURE_TABLE}").fetchall()}
        return Workspace(shop, features, _catalog(columns, shop, features, folder), folder, pending)
    except BaseException:
        shop.close()
        raise
