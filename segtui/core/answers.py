"""Answers about the feature table that the explorer shows: its columns and their types, the
common values of its text fields, one sorted page of a selection's members, and the profile of
a selection against all customers.

DuckDB does the work; these functions only write the queries and shape the rows. Each takes the
cursor to run on as its first argument, because the explorer asks from several threads at once
and DuckDB wants one cursor per thread (``Workspace`` wraps them, passing its connection when
the caller has no cursor of its own). ``sql`` is always a filter already compiled by
``segtui.core.filters`` (through ``Workspace.compile`` or a segment), never user text.

Presentation (bars, percentages, labels) belongs to the face that shows these answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from segtui.core.features import FEATURE_TABLE
from segtui.core.source import quote_ident, quote_str

#: Distribution name -> (column, how many values to keep: None = all, in value order).
DISTRIBUTIONS: dict[str, tuple[str, int | None]] = {
    "hour": ("preferred_hour", None),
    "weekday": ("preferred_weekday", None),
    "category": ("favorite_category", 5),
    "device": ("main_device", 4),
}


def column_types(cursor, table: str = FEATURE_TABLE) -> dict[str, str]:
    """Column name -> DuckDB type name, in table order."""
    return {row[0]: row[1] for row in cursor.execute(f"DESCRIBE {table}").fetchall()}


def top_values(cursor, fields: Iterable[str], limit: int = 12, table: str = FEATURE_TABLE) -> dict[str, list[str]]:
    """The ``limit`` most common non-NULL values of each field, as text, most common first.

    Ties go to the smaller value (text order), so the list is the same on every run. One query
    for all fields (a ``UNION ALL`` of ``GROUP BY``s, ranked together); a field with no value at
    all is left out of the answer.
    """
    parts = [
        f"SELECT {quote_str(name)} AS field, CAST({quote_ident(name)} AS VARCHAR) AS value, count(*) AS n "
        f"FROM {table} WHERE {quote_ident(name)} IS NOT NULL GROUP BY {quote_ident(name)}"
        for name in fields
    ]
    if not parts:
        return {}
    rows = cursor.execute(
        f"SELECT field, value FROM (SELECT *, row_number() OVER (PARTITION BY field ORDER BY n DESC, value) AS rank "
        f"FROM ({' UNION ALL '.join(parts)}) AS v) AS r WHERE rank <= ? ORDER BY field, rank",
        [int(limit)],
    ).fetchall()
    values: dict[str, list[str]] = {}
    for name, value in rows:
        values.setdefault(name, []).append(value)
    return values


def members_page(
    cursor, sql: str, columns: Iterable[str], sort: str, descending: bool, offset: int, limit: int,
    table: str = FEATURE_TABLE,
) -> list[tuple]:  # fmt: skip
    """Rows ``offset`` to ``offset + limit`` of the members matching ``sql``, with ``columns``.

    Sorted by ``sort`` (NULLs last in either direction) and then by ``customer_id``: with that
    full tie-break pages neither overlap nor skip a member. DuckDB answers ``ORDER BY … LIMIT``
    with a top-k heap, so a page stays fast at a million customers (deep offsets cost more).
    Column names are quoted, so any name the table has is safe.
    """
    names = ", ".join(quote_ident(c) for c in columns)
    order = f"{quote_ident(sort)} {'DESC' if descending else 'ASC'} NULLS LAST, {quote_ident('customer_id')}"
    return cursor.execute(
        f"SELECT {names} FROM {table} WHERE ({sql}) ORDER BY {order} LIMIT ? OFFSET ?", [int(limit), int(offset)]
    ).fetchall()


@dataclass
class Profile:
    """Members and all customers side by side; ``dists[name]`` is [(value, members, everyone)]."""

    customers: int
    total_customers: int
    revenue: float
    total_revenue: float
    orders: int
    total_orders: int
    recency: float | None  # median days since last order, buyers only
    all_recency: float | None
    dists: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)
    #: per distribution, (members with a value, everyone with a value): the shares' denominators
    dist_totals: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def customer_share(self) -> float:
        return _ratio(self.customers, self.total_customers) or 0.0

    @property
    def revenue_share(self) -> float:
        return _ratio(self.revenue, self.total_revenue) or 0.0

    @property
    def aov(self) -> float | None:
        return _ratio(self.revenue, self.orders)

    @property
    def all_aov(self) -> float | None:
        return _ratio(self.total_revenue, self.total_orders)

    @property
    def orders_per_customer(self) -> float | None:
        return _ratio(self.orders, self.customers)

    @property
    def all_orders_per_customer(self) -> float | None:
        return _ratio(self.total_orders, self.total_customers)


def profile(cursor, sql: str, columns: Mapping[str, str] | Iterable[str] | None = None,
            table: str = FEATURE_TABLE) -> Profile:  # fmt: skip
    """The selection ``sql`` against all customers, in two queries.

    One aggregate pass (shares, order value, orders per customer, median recency of buyers),
    then one ``UNION ALL`` of small ``GROUP BY``s for the distributions (preferred hour and
    weekday, favourite category, main device). Membership is computed once per row as ``_m``,
    NULL (unknown) counting as not a member as in WHERE, and every figure is a
    ``FILTER (WHERE _m)`` beside its all-customers twin, so a segment and its baseline come from
    the same scan. A distribution whose column the table lacks (``columns``; read from the
    table when None) is simply left out.
    """
    present = set(column_types(cursor, table) if columns is None else columns)
    members = f"SELECT *, COALESCE(({sql}), FALSE) AS _m FROM {table}"
    row = cursor.execute(
        f"""
        SELECT count(*) FILTER (WHERE _m), count(*),
               COALESCE(sum(total_spent) FILTER (WHERE _m), 0), COALESCE(sum(total_spent), 0),
               COALESCE(sum(orders) FILTER (WHERE _m), 0), COALESCE(sum(orders), 0),
               median(days_since_last_order) FILTER (WHERE _m), median(days_since_last_order)
        FROM ({members}) AS t
        """
    ).fetchone()
    answer = Profile(int(row[0]), int(row[1]), float(row[2]), float(row[3]), int(row[4]), int(row[5]),
                     _float(row[6]), _float(row[7]))  # fmt: skip
    parts = [
        f"SELECT {quote_str(name)} AS dim, CAST({quote_ident(column)} AS VARCHAR) AS value, "
        f"count(*) FILTER (WHERE _m) AS members, count(*) AS everyone "
        f"FROM t WHERE {quote_ident(column)} IS NOT NULL GROUP BY {quote_ident(column)}"
        for name, (column, _) in DISTRIBUTIONS.items()
        if column in present
    ]
    if parts:
        rows = cursor.execute(f"WITH t AS ({members}) " + " UNION ALL ".join(parts)).fetchall()
        for name, value, in_members, everyone in rows:
            answer.dists.setdefault(name, []).append((value, int(in_members), int(everyone)))
    for name, (_, keep) in DISTRIBUTIONS.items():
        values = answer.dists.get(name)
        if not values:
            continue
        answer.dist_totals[name] = (sum(v[1] for v in values), sum(v[2] for v in values))
        if keep is None:  # an axis (hours, weekdays): in numeric order
            values.sort(key=lambda v: int(v[0]))
        else:  # categories: the members' most common first, then the baseline's, then by name
            values.sort(key=lambda v: (-v[1], -v[2], v[0]))
            del values[keep:]
    return answer


def _float(value) -> float | None:
    return None if value is None else float(value)


def _ratio(part: float, whole: float) -> float | None:
    """None for a ratio over nothing (no orders, no customers): unknown, not zero."""
    return part / whole if whole else None


def case_hints(cursor, expr: str, columns: Mapping[str, str], table: str = FEATURE_TABLE) -> list[str]:
    """For a filter that matched no one: each ``text_field = 'value'`` (or ``IN (...)``) whose
    value no customer has as written but some have in another case, one line saying so
    ("no customer has main_os 'ios'; 1,234 have 'iOS'"). Empty when there is nothing to say."""
    from segtui.core.filters import text_comparisons  # sqlglot: only for a count of 0

    hints = []
    for column, value in text_comparisons(expr):
        if columns.get(column) != "VARCHAR":
            continue
        rows = cursor.execute(
            f"SELECT {quote_ident(column)}, count(*) FROM {table} WHERE lower({quote_ident(column)}) = lower(?) "
            f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3", [value]
        ).fetchall()
        if rows and all(found != value for found, _ in rows):
            others = ", ".join(f"{n:,} have {quote_str(found)}" for found, n in rows)
            hints.append(f"no customer has {column} {quote_str(value)}; {others}")
    return hints
