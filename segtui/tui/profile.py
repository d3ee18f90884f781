"""The profile of a selection against all customers, in two queries over ``customer_features``.

DuckDB does the work: one aggregate pass (shares, order value, orders per customer, recency) and
one ``UNION ALL`` of small ``GROUP BY``s for the distributions (preferred hour and weekday,
favourite category, main device). The membership test is computed once per row as ``_m`` and
every figure is a ``FILTER (WHERE _m)`` beside its all-customers twin, so a segment and the
baseline always come from the same scan. A field the shop cannot compute is simply skipped.

No Textual here: this module could move to ``segtui.core`` (and its SQL to ``queries/``) the day
the CLI wants a ``profile`` command.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Distribution name -> (column, how many values to keep: None = all, in value order).
DISTRIBUTIONS: dict[str, tuple[str, int | None]] = {
    "hour": ("preferred_hour", None),
    "weekday": ("preferred_weekday", None),
    "category": ("favorite_category", 5),
    "device": ("main_device", 4),
}


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
        return self.customers / self.total_customers if self.total_customers else 0.0

    @property
    def revenue_share(self) -> float:
        return self.revenue / self.total_revenue if self.total_revenue else 0.0

    @property
    def aov(self) -> float | None:
        return self.revenue / self.orders if self.orders else None

    @property
    def all_aov(self) -> float | None:
        return self.total_revenue / self.total_orders if self.total_orders else None

    @property
    def orders_per_customer(self) -> float | None:
        return self.orders / self.customers if self.customers else None

    @property
    def all_orders_per_customer(self) -> float | None:
        return self.total_orders / self.total_customers if self.total_customers else None


def _members(sql: str) -> str:
    """Rows with the membership flag; NULL (unknown) counts as not a member, as in WHERE."""
    return f"SELECT *, COALESCE(({sql}), FALSE) AS _m FROM customer_features"


def compute_profile(con, sql: str, columns: set[str] | frozenset[str]) -> Profile:
    """Two queries: the aggregates, then every available distribution in one UNION ALL."""
    row = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE _m), count(*),
               COALESCE(sum(total_spent) FILTER (WHERE _m), 0), COALESCE(sum(total_spent), 0),
               COALESCE(sum(orders) FILTER (WHERE _m), 0), COALESCE(sum(orders), 0),
               median(days_since_last_order) FILTER (WHERE _m), median(days_since_last_order)
        FROM ({_members(sql)}) AS t
        """
    ).fetchone()
    profile = Profile(int(row[0]), int(row[1]), float(row[2]), float(row[3]), int(row[4]), int(row[5]),
                      _float(row[6]), _float(row[7]))  # fmt: skip
    parts = [
        f"SELECT '{name}' AS dim, CAST({column} AS VARCHAR) AS value, "
        f"count(*) FILTER (WHERE _m) AS members, count(*) AS everyone "
        f"FROM t WHERE {column} IS NOT NULL GROUP BY {column}"
        for name, (column, _) in DISTRIBUTIONS.items()
        if column in columns
    ]
    if parts:
        rows = con.execute(f"WITH t AS ({_members(sql)}) " + " UNION ALL ".join(parts)).fetchall()
        for name, value, members, everyone in rows:
            profile.dists.setdefault(name, []).append((value, int(members), int(everyone)))
    for name, (_, keep) in DISTRIBUTIONS.items():
        values = profile.dists.get(name)
        if not values:
            continue
        profile.dist_totals[name] = (sum(v[1] for v in values), sum(v[2] for v in values))
        if keep is None:  # an axis (hours, weekdays): in numeric order
            values.sort(key=lambda v: int(v[0]))
        else:  # categories: the members' most common first, then the baseline's, then by name
            values.sort(key=lambda v: (-v[1], -v[2], v[0]))
            del values[keep:]
    return profile


def _float(value) -> float | None:
    return None if value is None else float(value)
