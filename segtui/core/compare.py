"""Segments side by side at one date: how they overlap, and who almost qualifies.

Overlap is one scan: each customer's membership of every segment as a row of flags, grouped,
gives the count of every Venn region; the pairs (both, Jaccard) are sums of those regions, so
the two can never disagree. A near miss is a customer for whom every top-level AND condition
of a filter but one is true and that one is not (false, or unknown: NULL); one scan counts
them for every condition. Both read ``customer_features`` as the workspace holds it: the caller
makes it hold the fields the filters read (``Workspace.require``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations

from segtui.core.features import FEATURE_TABLE
from segtui.core.filters import conditions
from segtui.core.segments import filter_rows, member_flags
from segtui.core.source import quote_str
from segtui.errors import FilterError

#: Venn regions are listed for this many segments at most; beyond, pairs only.
MAX_REGION_SEGMENTS = 3

NEAR_TABLE = "near_misses"


# --------------------------------------------------------------------------------------------
# overlap


@dataclass(frozen=True)
class Overlap:
    as_of: date
    names: list[str]
    counts: list[int]  # members of each segment
    union: int  # customers in at least one
    #: (segments a customer is in, exactly: a Venn region, customers); 2 or 3 segments only
    regions: list[tuple[tuple[str, ...], int]]
    #: (a, b, customers in both, Jaccard = both / in either; None when neither has members)
    pairs: list[tuple[str, str, int, float | None]]

    def to_json(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "segments": [{"name": n, "count": c} for n, c in zip(self.names, self.counts)],
            "union": self.union,
            "pairs": [{"a": a, "b": b, "both": both, "jaccard": j} for a, b, both, j in self.pairs],
            "regions": [{"in": list(inside), "count": n} for inside, n in self.regions],
        }


def overlap(con, as_of: date, selections: Sequence[tuple[str, str]]) -> Overlap:
    """How the members of ``selections`` ((name, compiled SQL), two or more) overlap.

    Regions (for up to :data:`MAX_REGION_SEGMENTS`) are "in exactly these segments", every
    non-empty combination listed, empty ones with 0, ordered by size then as given; they sum to
    the union. Jaccard is rounded to 4 decimals.
    """
    names = [name for name, _ in selections]
    k = len(names)
    flags = ", ".join(f"m{i}" for i in range(k))
    rows = filter_rows(con, f"SELECT {flags}, count(*) FROM (SELECT {member_flags([s for _, s in selections])} "
                     f"FROM {FEATURE_TABLE}) AS t GROUP BY ALL")
    by_pattern = {tuple(bool(v) for v in row[:k]): int(row[k]) for row in rows}

    def members(*which: int) -> int:
        return sum(n for pattern, n in by_pattern.items() if all(pattern[i] for i in which))

    union = sum(n for pattern, n in by_pattern.items() if any(pattern))
    pairs = []
    for i, j in combinations(range(k), 2):
        both = members(i, j)
        either = members(i) + members(j) - both
        pairs.append((names[i], names[j], both, round(both / either, 4) if either else None))
    regions = []
    if k <= MAX_REGION_SEGMENTS:
        for size in range(1, k + 1):
            for inside in combinations(range(k), size):
                pattern = tuple(i in inside for i in range(k))
                regions.append((tuple(names[i] for i in inside), by_pattern.get(pattern, 0)))
    return Overlap(as_of, names, [members(i) for i in range(k)], union, regions, pairs)


# --------------------------------------------------------------------------------------------
# near misses


@dataclass(frozen=True)
class NearMiss:
    condition: str  # as written in the filter (the compiled SQL when the two do not split alike)
    sql: str
    count: int


def split(where: str, sql: str) -> list[tuple[str, str]]:
    """A filter's top-level AND conditions as (text as written, compiled SQL).

    The compiled SQL is split the same way (``in_segment`` is inlined in parentheses, so the
    top level is the same); should the two ever differ in number, the compiled parts are shown.
    """
    sqls = conditions(sql)
    try:
        texts = conditions(where)
    except FilterError:
        texts = []
    return list(zip(texts if len(texts) == len(sqls) else sqls, sqls))


def _missing_only(sqls: Sequence[str], index: int) -> str:
    """Every condition but ``index`` true, that one not true: over the flags m0, m1, ..."""
    others = [f"m{j}" for j in range(len(sqls)) if j != index]
    return " AND ".join([*others, f"NOT m{index}"])


def near_misses(con, where: str, sql: str) -> list[NearMiss]:
    """Per top-level condition of the filter, the customers who meet every other condition
    (TRUE, not NULL) and not this one (FALSE or NULL), in one scan. A filter of one condition
    gives one line: everyone outside it (no other condition to meet)."""
    parts = split(where, sql)
    sqls = [s for _, s in parts]
    counts = ", ".join(f"COALESCE(count_if({_missing_only(sqls, i)}), 0)" for i in range(len(sqls)))
    row = filter_rows(con, f"SELECT {counts} FROM (SELECT {member_flags(sqls)} FROM {FEATURE_TABLE}) AS t")[0]
    return [NearMiss(text, s, int(n)) for (text, s), n in zip(parts, row)]


def keep_near_misses(con, misses: Sequence[NearMiss], only: int | None = None) -> None:
    """The near misses as the temp table ``near_misses`` (customer_id, missed: the condition's
    text), for an export; ``only``: the 0-based condition to keep. A customer misses at most
    one condition (with two missed the others are not all true), so the sets are disjoint."""
    sqls = [m.sql for m in misses]
    label = "CASE " + " ".join(f"WHEN {_missing_only(sqls, i)} THEN {quote_str(m.condition)}"
                               for i, m in enumerate(misses)) + " END"
    keep = [i for i in range(len(misses)) if only is None or i == only]
    where = " OR ".join(f"({_missing_only(sqls, i)})" for i in keep)
    filter_rows(con, f"CREATE OR REPLACE TEMP TABLE {NEAR_TABLE} AS SELECT customer_id, {label} AS missed "
              f"FROM (SELECT customer_id, {member_flags(sqls)} FROM {FEATURE_TABLE}) AS t WHERE {where}")


def write_near_misses(ws, path, force: bool = False, stream=None) -> int:
    """Write the table :func:`keep_near_misses` made: customer_id, missed and the contact
    columns, grouped by the condition missed; the export's conventions."""
    from segtui.core.export import export_members

    contacts = ws.contacts
    columns = ["customer_id", "missed", *(contacts.columns if contacts is not None else ())]
    try:
        return export_members(ws.con, "TRUE", path, columns, force, table=NEAR_TABLE, contacts=contacts,
                              stream=stream, order=("missed", False))
    finally:
        ws.con.execute(f"DROP TABLE IF EXISTS {NEAR_TABLE}")
