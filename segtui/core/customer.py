"""One customer's story as of a date: who they are, how they compare, where they belong, and
what they did, newest first.

Both faces ask :func:`story`: the explorer's customer view (``enter`` on a member) and
``segtui customer SOURCE ID``. The timeline's SQL is in ``queries/customer/`` (one file per
kind of moment: orders, events, returns, reviews, and the lines of the orders on a page); only
the tables the shop has take part. The features come from ``customer_features`` (the full
table: membership needs every family), the medians beside them from one aggregate over it,
computed once per workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from segtui.core.features import FEATURE_TABLE
from segtui.core.compare import split
from segtui.core.source import CONTACT_COLUMNS, quote_ident
from segtui.errors import SegtuiError
from segtui.resources import read_query

#: The features a customer's story leads with, each beside the shop's median (text fields
#: beside nothing); the others follow in catalogue order. Only the available ones are shown.
KEY_FIELDS = (
    "orders", "total_spent", "avg_order_value", "days_since_last_order", "avg_days_between_orders",
    "overdue_ratio", "spend_percentile", "discount_share", "category_count", "favorite_category",
    "return_rate", "avg_rating", "visits_30d", "days_since_last_action", "rfm_segment", "usage_level",
    "p_alive", "expected_orders_90d", "clv_365d",
)

#: Near segments a face lists before "and N more" (the story holds them all, closest first).
NEAR_SHOWN = 5

#: Timeline kind -> (query file, the table it needs).
_MOMENTS = {
    "order": ("customer/orders.sql", "orders"),
    "event": ("customer/events.sql", "events"),
    "return": ("customer/returns.sql", "returns"),
    "review": ("customer/reviews.sql", "reviews"),
}


class CustomerNotFound(SegtuiError):
    """No customer with that id in the shop as of the date."""


@dataclass(frozen=True)
class KeyFeature:
    name: str
    value: Any
    median: float | None  # the shop's median over customers with a value; None for text
    unit: str
    description: str


@dataclass(frozen=True)
class NearMiss:
    segment: str
    missed: str  # the one condition of the segment's filter this customer does not meet


@dataclass(frozen=True)
class Line:
    product: str
    quantity: float | None
    price: float | None
    category: str | None


@dataclass(frozen=True)
class Moment:
    """One row of the timeline: an order, an event, a return or a review."""

    at: datetime | None
    kind: str  # order | event | return | review
    ref: str | None  # order id, event type or review kind
    amount: float | None  # order total, returned amount or rating
    note: str
    lines: tuple[Line, ...] = ()


@dataclass
class Story:
    customer_id: Any
    as_of: date
    contacts: dict[str, str]
    key: list[KeyFeature]
    features: dict[str, Any]  # every field customer_features holds, in catalogue order
    segments: list[str]  # the usable segments this customer belongs to, in catalogue order
    near: list[NearMiss]
    timeline: list[Moment]
    timeline_total: int
    offset: int = 0
    tables: set[str] = field(default_factory=set)  # the timeline's sources in this shop

    def to_json(self) -> dict[str, Any]:
        """The shape ``segtui customer --json`` prints (docs/cli.md)."""
        return {
            "customer_id": _plain(self.customer_id),
            "as_of": self.as_of.isoformat(),
            "contacts": self.contacts,
            "key_features": [
                {"name": k.name, "value": _plain(k.value), "median": _plain(k.median), "unit": k.unit}
                for k in self.key
            ],
            "features": {name: _plain(value) for name, value in self.features.items()},
            "segments": self.segments,
            "near_segments": [{"segment": n.segment, "missed": n.missed} for n in self.near],
            "timeline": [
                {
                    "at": _plain(m.at), "kind": m.kind, "ref": m.ref, "amount": _plain(m.amount), "note": m.note,
                    "lines": [{"product": line.product, "quantity": _plain(line.quantity),
                               "price": _plain(line.price), "category": line.category} for line in m.lines],
                }
                for m in self.timeline
            ],
            "timeline_total": self.timeline_total,
            "timeline_offset": self.offset,
        }


def story(ws, cursor, customer_id: Any, offset: int = 0, limit: int = 50) -> Story:
    """The story of ``customer_id`` (text or the id's own type) as of the workspace's date,
    with timeline rows ``offset`` to ``offset + limit``; CustomerNotFound when the shop has no
    such customer then. ``ws`` holds the full feature table (``ws.require()``)."""
    id_type = ws.shop.id_types.get("customer_id", "BIGINT")
    row = cursor.execute(
        f"SELECT * FROM {FEATURE_TABLE} WHERE customer_id = TRY_CAST(? AS {id_type})", [str(customer_id)]
    ).fetchone()
    if row is None:
        raise CustomerNotFound(f"no customer {customer_id} in {ws.shop.name} as of {ws.as_of}")
    names = [d[0] for d in cursor.description]
    values = dict(zip(names, row))
    ident = values.pop("customer_id")
    catalogue = {f.name: f for f in ws.builder.available}
    features = {name: values[name] for name in catalogue if name in values}
    medians = _medians(ws, cursor, [n for n in KEY_FIELDS if n in features])
    key = [KeyFeature(n, features[n], medians.get(n), catalogue[n].unit, catalogue[n].description)
           for n in KEY_FIELDS if n in features]  # fmt: skip
    segments, near = _belonging(ws, cursor, id_type, ident)
    near.sort(key=lambda n: _distance(n.missed, features))
    timeline, total = moments(ws, cursor, ident, offset, limit)
    return Story(ident, ws.as_of, contacts(ws, cursor, ident), key, features, segments, near, timeline, total,
                 offset, {table for _, table in _MOMENTS.values() if table in ws.shop.table_names})  # fmt: skip


def contacts(ws, cursor, ident: Any) -> dict[str, str]:
    """The contact columns the shop's customers table has, with a value, for this customer."""
    table = ws.shop.tables.get("customers")
    present = [c for c in CONTACT_COLUMNS if table is not None and c in table.present]
    if not present:
        return {}
    row = cursor.execute(
        f"SELECT {', '.join(quote_ident(c) for c in present)} FROM customers WHERE customer_id = ? LIMIT 1", [ident]
    ).fetchone()
    return {c: str(v) for c, v in zip(present, row or ()) if v is not None and str(v).strip()}


def moments(ws, cursor, ident: Any, offset: int = 0, limit: int = 50) -> tuple[list[Moment], int]:
    """Timeline rows ``offset`` to ``offset + limit``, newest first (undated ones last), and how
    many there are; the orders on the page come with their lines when the shop has them."""
    parts = [read_query(path) for path, table in _MOMENTS.values() if table in ws.shop.table_names]
    union = " UNION ALL ".join(f"({part})" for part in parts)
    params = {"customer": ident, "as_of": ws.as_of}
    total = cursor.execute(f"SELECT count(*) FROM ({union}) AS t", params).fetchone()[0]
    rows = cursor.execute(
        f"SELECT moment_at, kind, ref, amount, note FROM ({union}) AS t "
        f"ORDER BY moment_at DESC NULLS LAST, kind, ref LIMIT {int(limit)} OFFSET {int(offset)}",
        params,
    ).fetchall()
    lines = _lines(ws, cursor, [r[2] for r in rows if r[1] == "order" and r[2] is not None])
    page = [Moment(at, kind, ref, amount, note or "", tuple(lines.get(ref, ())) if kind == "order" else ())
            for at, kind, ref, amount, note in rows]  # fmt: skip
    return page, int(total)


def _lines(ws, cursor, orders: list[str]) -> dict[str, list[Line]]:
    if not orders or "order_items" not in ws.shop.table_names:
        return {}
    id_type = ws.shop.id_types.get("product_id", "BIGINT")
    products = "products" if "products" in ws.shop.table_names else \
        f"(SELECT CAST(NULL AS {id_type}) AS product_id, CAST(NULL AS VARCHAR) AS category WHERE FALSE)"  # fmt: skip
    sql = read_query("customer/lines.sql").replace("{products}", products)
    found: dict[str, list[Line]] = {}
    for ref, product, quantity, price, category in cursor.execute(sql, {"orders": orders}).fetchall():
        found.setdefault(ref, []).append(Line(product, quantity, price, category))
    return found


def _medians(ws, cursor, names: list[str]) -> dict[str, float | None]:
    """The shop's median of each numeric field in ``names`` (customers with a value), computed
    once per workspace: one aggregate over the feature table (~0.3 s at a million customers)."""
    memo = ws.memo.setdefault("medians", {})
    types = {f.name: f.type for f in ws.builder.available}
    numeric = [n for n in names if n not in memo and types.get(n) in ("BIGINT", "DOUBLE", "INTEGER", "DECIMAL")]
    if numeric:
        row = cursor.execute(
            "SELECT " + ", ".join(f"median({quote_ident(n)})" for n in numeric) + f" FROM {FEATURE_TABLE}"
        ).fetchone()
        memo.update({n: (None if v is None else float(v)) for n, v in zip(numeric, row)})
    return {n: memo.get(n) for n in names}


def _belonging(ws, cursor, id_type: str, ident: Any) -> tuple[list[str], list[NearMiss]]:
    """The usable segments this customer is in, and the ones missed by exactly one condition
    (segments of two conditions or more; a condition that is NULL for them counts as missed)."""
    held = set(ws.features.columns) if ws.features is not None else set()
    usable = [c for c in ws.catalog.usable if ws.fields_of(c.sql) <= held]  # built so far
    checks: list[str] = [f"COALESCE(({c.sql}), FALSE)" for c in usable]
    splits: list[list[tuple[str, int]]] = []
    for compiled in usable:
        mine = []
        for text, sql in _conditions(ws, compiled):
            checks.append(f"COALESCE(({sql}), FALSE)")
            mine.append((text, len(checks) - 1))
        splits.append(mine)
    if not checks:
        return [], []
    row = cursor.execute(
        f"SELECT {', '.join(checks)} FROM {FEATURE_TABLE} WHERE customer_id = ?", [ident]
    ).fetchone()
    segments, near = [], []
    for index, compiled in enumerate(usable):
        if row[index]:
            segments.append(compiled.name)
            continue
        parts = splits[index]
        missed = [text for text, at in parts if not row[at]]
        if len(parts) >= 2 and len(missed) == 1:
            near.append(NearMiss(compiled.name, missed[0]))
    return segments, near


def _conditions(ws, compiled) -> list[tuple[str, str]]:
    """A segment's top-level conditions as (text as written, compiled SQL), once per workspace."""
    memo = ws.memo.setdefault("conditions", {})
    if compiled.sql not in memo:
        memo[compiled.sql] = split(compiled.segment.where, compiled.sql)
    return memo[compiled.sql]


def _distance(condition: str, features: dict[str, Any]) -> float:
    """How far this customer is from meeting a missed condition, relative to its threshold:
    for ``field <op> number`` and ``field BETWEEN a AND b``, |value - nearest bound| / |bound|
    (a customer at 85 misses ``>= 90`` by 0.06, a top spender misses ``< 20`` by 4); 1 for any
    other shape, and after every measurable one when the value is NULL."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(condition, read="duckdb")
    except Exception:  # noqa: BLE001 - a shape we do not measure
        return 1.0
    bounds: list[exp.Expression] = []
    column = tree.this if isinstance(tree, (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.EQ, exp.Between)) else None
    if isinstance(tree, exp.Between):
        bounds = [tree.args.get("low"), tree.args.get("high")]
    elif column is not None:
        bounds = [tree.expression]
    if not isinstance(column, exp.Column) or not bounds or not all(isinstance(b, exp.Literal) and not b.is_string
                                                                  for b in bounds):  # fmt: skip
        return 1.0
    value = features.get(column.name.lower())
    if value is None or isinstance(value, (str, bool)):
        return 2.0 if value is None else 1.0
    nearest = min((float(b.this) for b in bounds), key=lambda bound: abs(float(value) - bound))
    return abs(float(value) - nearest) / max(abs(nearest), 1.0)


def _plain(value: Any) -> Any:
    """JSON-friendly: dates and timestamps as ISO text, decimals as floats."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if value is not None and not isinstance(value, (bool, int, float, str)):
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value)
    return value
