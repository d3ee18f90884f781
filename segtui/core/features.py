"""Build ``customer_features``: one row per customer, every behavioural feature, as of a date.

DuckDB does the work; the SQL lives in ``queries/features/`` (one file per feature family, each
headed by the tables and columns it needs) and this module only decides which files to run, in
which order, and how the families meet in the final table:

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
   ``complaints.sql``, ``order_habits_pivot.sql``). Its columns are computed per customer in
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
from dataclasses import dataclass, field as dataclass_field
from datetime import date, datetime

import duckdb

from segtui.resources import read_query

Progress = Callable[[str, float], None]

FEATURE_TABLE = "customer_features"

# DuckDB's own default is 80% of RAM; bounded, its hash tables spill instead of growing, which
# keeps a million-customer build's resident memory in check (3.6 GB unbounded). Measured at 1M
# on 2026-11-24: 2GB -> 2.2 GB peak but ~12% slower (pricier, devices and the final join spill);
# 3GB -> 2.95 GB peak, 19.6-20.5 s, but three builds in one process (the explorer changing its
# as-of date) reached 3.8 GB; 2.5GB -> 2.65 GB peak, 20.8 s: the chosen middle. Spilled files go
# to the user cache folder, never the working directory.
BUILD_MEMORY_LIMIT = "2.5GB"


@dataclass(frozen=True)
class Field:
    """One column of ``customer_features``.

    ``needs`` are tables and ``needs_columns`` are ``table.column`` names; an entry may list
    alternatives joined by ``|`` ("events|reviews": either will do). ``family`` is the
    ``queries/features`` family that computes it and ``fill`` the SQL value a customer the
    family has no row for gets (``None``: NULL).
    """

    name: str
    type: str
    description: str
    unit: str
    needs: tuple[str, ...]
    needs_columns: tuple[str, ...] = ()
    family: str = "core"
    fill: str | None = None


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


def _f(name, type_, description, unit, needs, needs_columns=(), family="core", fill=None):
    return Field(name, type_, description, unit, tuple(needs), tuple(needs_columns), family, fill)


_O = ("orders",)

FIELDS: tuple[Field, ...] = (
    # core.sql (the core features: one pass over the orders), rfm.sql (ranks over its result),
    # order_profile.sql (a second pass over the orders: discounts, timing, value counts)
    _f("orders", "BIGINT", "Number of distinct orders placed on or before the as-of date (0 if none).",
       "orders", _O, fill="0"),
    _f("total_spent", "DOUBLE", "Sum of the order totals on or before the as-of date, refunds (negative totals) included and a missing total counted as 0.",
       "money", _O, fill="0"),
    _f("avg_order_value", "DOUBLE", "total_spent divided by orders; NULL without orders.",
       "money", _O),
    _f("first_order_at", "TIMESTAMP", "Timestamp of the customer's first order on or before the as-of date.",
       "timestamp", _O),
    _f("last_order_at", "TIMESTAMP", "Timestamp of the customer's latest order on or before the as-of date.",
       "timestamp", _O),
    _f("days_since_last_order", "BIGINT", "Whole days between the latest order's date and the as-of date (0 for an order on the as-of day).",
       "days", _O),
    _f("days_since_first_order", "BIGINT", "Whole days between the first order's date and the as-of date.",
       "days", _O),
    _f("avg_days_between_orders", "DOUBLE", "Days between the first and the latest order's dates divided by (orders - 1); NULL below 2 orders.",
       "days", _O),
    _f("overdue_ratio", "DOUBLE", "days_since_last_order divided by avg_days_between_orders (above 1: later than the customer's own rhythm); NULL when that average is NULL or 0.",
       "ratio", _O),
    _f("spend_percentile", "DOUBLE", "Percentage of the other buyers who spent strictly less (100 * percent_rank of total_spent; ties share a value, a lone buyer gets 0); NULL without orders.",
       "percentile 0-100", _O),
    _f("orders_365d", "BIGINT", "Number of orders in the last 365 days (the as-of day and the 364 days before it).",
       "orders", _O, fill="0"),
    _f("usage_level", "VARCHAR", "'heavy' (percent_rank of orders_365d >= 0.8 among customers with an order in the last 365 days), 'medium' (>= 0.5), 'light' (the rest of them) or 'none' (no order in the last 365 days).",
       "level", _O, family="rfm", fill="'none'"),
    _f("r_score", "BIGINT", "Recency score 1-5 among buyers (5 = most recent): least(5, 1 + floor(5 * percent_rank)) of days_since_last_order, descending; NULL without orders.",
       "score 1-5", _O, family="rfm"),
    _f("f_score", "BIGINT", "Frequency score 1-5 among buyers (5 = most orders): least(5, 1 + floor(5 * percent_rank)) of orders; NULL without orders.",
       "score 1-5", _O, family="rfm"),
    _f("m_score", "BIGINT", "Monetary score 1-5 among buyers (5 = highest spend): least(5, 1 + floor(5 * percent_rank)) of total_spent; NULL without orders.",
       "score 1-5", _O, family="rfm"),
    _f("rfm_segment", "VARCHAR", "The buyer's cell in the standard recency x frequency grid (Champions, Loyal customers, Potential loyalists, New customers, Promising, Need attention, About to sleep, At risk, Can't lose them, Hibernating); NULL without orders.",
       "segment", _O, family="rfm"),
    _f("discount_share", "DOUBLE", "Share of the customer's orders with a discount above 0 (a missing discount counts as none); NULL without orders.",
       "share 0-1", _O, ("orders.discount",), family="order_profile"),
    _f("full_price_share", "DOUBLE", "Share of the customer's orders without a discount (1 - discount_share); NULL without orders.",
       "share 0-1", _O, ("orders.discount",), family="order_profile"),
    _f("preferred_hour", "BIGINT", "Hour of the day (0-23) in which the customer placed the most orders; ties go to the earliest hour.",
       "hour 0-23", _O, family="order_profile"),
    _f("preferred_weekday", "BIGINT", "ISO weekday (1 = Monday to 7 = Sunday) on which the customer placed the most orders; ties go to the earliest day.",
       "weekday 1-7", _O, family="order_profile"),
    _f("preferred_weekday_name", "VARCHAR", "preferred_weekday as a name: Mon, Tue, Wed, Thu, Fri, Sat or Sun.",
       "weekday", _O, family="order_profile"),
    _f("weekend_share", "DOUBLE", "Share of the customer's orders placed on a Saturday or Sunday; NULL without orders.",
       "share 0-1", _O, family="order_profile"),
    _f("holiday_share", "DOUBLE", "Share of the customer's orders placed in November or December; NULL without orders.",
       "share 0-1", _O, family="order_profile"),
    # order_habits.sql
    _f("main_payment_method", "VARCHAR", "Payment method of most of the customer's orders; ties go to the alphabetically first.",
       "payment method", _O, ("orders.payment_method",), family="order_habits"),
    _f("main_channel", "VARCHAR", "Sales channel of most of the customer's orders; ties go to the alphabetically first.",
       "channel", _O, ("orders.channel",), family="order_habits"),
    # categories.sql
    _f("favorite_category", "VARCHAR", "Category with the most items (sum of quantity) bought; ties broken by spend in it, then by name ascending.",
       "category", ("orders", "order_items", "products"), ("products.category",), family="categories"),
    _f("category_count", "BIGINT", "Number of distinct product categories the customer has bought.",
       "categories", ("orders", "order_items", "products"), ("products.category",), family="categories", fill="0"),
    # events.sql
    _f("product_views_30d", "BIGINT", "Number of product_view events in the last 30 days (the as-of day and the 29 before it).",
       "events", ("events",), family="events", fill="0"),
    _f("visits_30d", "BIGINT", "Number of distinct days in the last 30 with any event other than an email open or click.",
       "days", ("events",), family="events", fill="0"),
    _f("sessions_30d", "BIGINT", "Number of distinct session ids among the events of the last 30 days.",
       "sessions", ("events",), ("events.session_id",), family="events", fill="0"),
    _f("email_opens_90d", "BIGINT", "Number of email_open events in the last 90 days.",
       "events", ("events",), family="events", fill="0"),
    _f("email_clicks_90d", "BIGINT", "Number of email_click events in the last 90 days.",
       "events", ("events",), family="events", fill="0"),
    # views_unbought.sql / views_unbought_no_items.sql
    _f("views_without_purchase", "BIGINT", "Product views in the last 30 days of products the customer never bought (without order lines: all product views of the last 30 days when no order was placed in them).",
       "events", ("events",), family="views_unbought", fill="0"),
    # last_action.sql
    _f("last_action", "VARCHAR", "The customer's latest action: order, review or an event of type page_view, product_view, cart_add, checkout_start, email_open, email_click, complaint or search (ties: order, then alphabetical).",
       "action", ("events",), family="last_action"),
    _f("days_since_last_action", "BIGINT", "Whole days between the date of last_action and the as-of date.",
       "days", ("events",), family="last_action"),
    # last_action.sql too (the abandoned cart reads the same columns)
    _f("has_abandoned_cart", "BOOLEAN", "True when the latest cart_add or checkout_start event is at least 24 hours before the end of the as-of day and no order followed it.",
       "flag", ("events",), family="last_action", fill="FALSE"),
    _f("days_since_cart_activity", "BIGINT", "Whole days between the latest cart_add or checkout_start event's date and the as-of date.",
       "days", ("events",), family="last_action"),
    # pricier.sql
    _f("viewed_pricier_before_buying", "BOOLEAN", "True when, in the 7 days before an order, the customer viewed another product of the same category with a higher list price than the unit price paid for a product in that order.",
       "flag", ("events", "order_items", "products"),
       ("events.product_id", "products.category", "products.price"), family="pricier", fill="FALSE"),
    # devices.sql
    _f("main_device", "VARCHAR", "Device of most of the customer's orders and events counted together; ties go to the alphabetically first.",
       "device", _O, ("orders.device|events.device",), family="devices"),
    _f("main_os", "VARCHAR", "Operating system of most of the customer's events; ties go to the alphabetically first.",
       "os", ("events",), ("events.os",), family="devices"),
    # complaints.sql
    _f("complaints", "BIGINT", "Number of complaint events plus reviews of kind 'complaint' on or before the as-of date.",
       "complaints", ("events|reviews",), family="complaints", fill="0"),
    _f("days_since_last_complaint", "BIGINT", "Whole days between the latest complaint's date and the as-of date.",
       "days", ("events|reviews",), family="complaints"),
    # reviews.sql
    _f("reviews", "BIGINT", "Number of reviews of any kind written on or before the as-of date.",
       "reviews", ("reviews",), family="reviews", fill="0"),
    _f("avg_rating", "DOUBLE", "Mean rating of those reviews (1-5, missing ratings ignored).",
       "rating 1-5", ("reviews",), ("reviews.rating",), family="reviews"),
    # returns.sql
    _f("returned_orders", "BIGINT", "Number of the customer's orders with a return on or before the as-of date.",
       "orders", ("orders", "returns"), family="returns", fill="0"),
    _f("return_rate", "DOUBLE", "returned_orders divided by orders; NULL without orders.",
       "share 0-1", ("orders", "returns"), family="returns"),
    # universe.sql (what the customers table says, and the tenure)
    _f("country", "VARCHAR", "Country from the customers table.",
       "country", ("customers",), ("customers.country",), family="universe"),
    _f("city", "VARCHAR", "City from the customers table.",
       "city", ("customers",), ("customers.city",), family="universe"),
    _f("age", "BIGINT", "Age in whole years at the as-of date, from birth_date.",
       "years", ("customers",), ("customers.birth_date",), family="universe"),
    _f("gender", "VARCHAR", "Gender from the customers table.",
       "gender", ("customers",), ("customers.gender",), family="universe"),
    _f("email_opt_in", "BOOLEAN", "Whether the customer agreed to receive marketing email, from the customers table.",
       "flag", ("customers",), ("customers.email_opt_in",), family="universe"),
    _f("tenure_days", "BIGINT", "Whole days since the customer was created, or since their first order or event when no created_at is known.",
       "days", _O, family="universe"),
)

FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

# Base files per source table; tables without a base file of their own are read directly.
_BASES: dict[str, str] = {
    "orders": "base_orders.sql",
    "customers": "base_customers.sql",
    "events": "base_events.sql",
    "reviews": "base_reviews.sql",
    "returns": "base_returns.sql",
    "order_items": "base_items.sql",
    "products": "base_products.sql",
}

# An empty stand-in for the base of a table the shop lacks, so that families which only draw on
# it (universe, devices, reviews: read by the last action and complaints) can read it. Must
# match the columns of the real base file (a test checks it). {id} is the shop's ID type.
_EMPTY_BASES: dict[str, tuple[str, str]] = {
    "customers": ("customers_asof", "customer_id {id}, created_at TIMESTAMP, created_days_ago BIGINT, "
                  "country VARCHAR, city VARCHAR, age BIGINT, gender VARCHAR, email_opt_in BOOLEAN"),
    "events": ("events_asof", "customer_id {id}, occurred_at TIMESTAMP, event_date DATE, days_ago BIGINT, "
               "type VARCHAR, product_id {id}, device VARCHAR, os VARCHAR, session_id VARCHAR"),
    "reviews": ("reviews_asof", "customer_id {id}, created_at TIMESTAMP, days_ago BIGINT, rating DOUBLE, kind VARCHAR"),
}

# Families in run order (later ones read earlier ones' tables); each maps to its files in order
# of preference: the first whose needs are met computes the family.
_FAMILIES: dict[str, tuple[str, ...]] = {
    "core": ("core.sql",),
    "events": ("events.sql",),
    "universe": ("universe.sql",),
    "rfm": ("rfm.sql",),
    "order_profile": ("order_profile.sql",),
    "order_habits": ("order_habits_pivot.sql", "order_habits.sql"),
    "categories": ("categories.sql",),
    "views_unbought": ("views_unbought.sql", "views_unbought_no_items.sql"),
    "last_action": ("last_action.sql",),
    "pricier": ("pricier.sql",),
    "devices": ("devices_pivot.sql", "devices.sql"),
    "complaints": ("complaints.sql",),
    "reviews": ("reviews.sql",),
    "returns": ("returns.sql",),
}
# The spine of the final table: the universe is made of the core and event summaries.
_ALWAYS = ("core", "events", "universe")

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

_HEADER = re.compile(r"^--\s*(needs|needs_columns|value_counts|reads)\s*:(.*)$", re.MULTILINE)
# A columns file is one SELECT list without FROM (see _Query.columns).
_COLUMNS = re.compile(r"^SELECT\b(.*?);?\s*\Z", re.MULTILINE | re.DOTALL)
_CREATES = re.compile(r"CREATE\s+OR\s+REPLACE\s+TEMP\s+(TABLE|VIEW)\s+(\w+)", re.IGNORECASE)
_PLACEHOLDER = re.compile(r":as_of\b")
_VALUES_PLACEHOLDER = re.compile(r":(\w+?)_(counts|values)\b")

# Value counts. A "most frequent value" pick (main payment method, channel, device, OS) costs a
# GROUP BY over (customer, value): at a million customers a second hash table over ~10M orders
# or ~30M events. When the column has few distinct values, the pass that already groups
# those rows by customer (order_profile.sql, events.sql) counts each value instead, one count_if per
# value, into a list (``:<column>_counts``, in the order of ``:<column>_values``), and the pick
# is the first position of the greatest count (the values are sorted, so ties go to the
# alphabetically first). A column with more values than this falls back to the family's
# grouping file (order_habits.sql, devices.sql). Each key names the column and the base views
# whose values it counts: a device is counted over orders and events together.
VALUE_COUNT_MAX = 24
# The pick from such a list: the value of the first greatest count, NULL when every count is 0.
_VALUE_MODE_MACRO = (
    "CREATE OR REPLACE TEMP MACRO value_mode(counts, vals) AS "
    "CASE WHEN list_max(counts) > 0 THEN vals[list_position(counts, list_max(counts))] END"
)
_VALUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "payment_method": ("orders_asof",),
    "channel": ("orders_asof",),
    "device": ("orders_asof", "events_asof"),
    "os": ("events_asof",),
}


@dataclass(frozen=True)
class _Query:
    file: str
    sql: str
    needs: tuple[str, ...]
    needs_columns: tuple[str, ...]
    table: str  # the last object the file creates: the family's table (or the base's view)
    kind: str  # TABLE or VIEW, or COLUMNS for a columns file
    creates: tuple[tuple[str, str], ...] = ()  # every (kind, name) it creates, helpers first
    value_counts: tuple[str, ...] = ()  # columns whose value counts it reads (see VALUE_COUNT_MAX)
    reads: tuple[str, ...] = ()  # families whose tables a columns file reads

    @property
    def is_columns(self) -> bool:
        return self.kind == "COLUMNS"

    def columns(self, as_of: date, values: Mapping[str, list[str]]) -> str:
        """A columns file's SELECT list, rendered. Such a file creates nothing: its columns are
        computed per customer in the final join (:func:`_final_sql`), from columns the passes
        already keep, reading each family's table by its name (``feature_core.last_order_at``)
        and the as-of date from ``feature_asof``. Picks that are cheap per row but would cost a
        GROUP BY and a join of their own as a table (the latest action, the complaints, the
        modes order_profile.sql picked) are written this way."""
        return _COLUMNS.search(render(self.sql, as_of, values)).group(1).strip()


def load_query(file: str) -> _Query:
    """A feature SQL file with its header: ``-- needs:`` tables, ``-- needs_columns:`` columns,
    ``-- value_counts:`` the columns whose per-value counts it reads, ``-- reads:`` the families
    whose tables a columns file reads."""
    sql = read_query(f"features/{file}")
    headers: dict[str, tuple[str, ...]] = {"needs": (), "needs_columns": (), "value_counts": (), "reads": ()}
    for key, value in _HEADER.findall(sql):
        headers[key] = tuple(v.strip() for v in value.split(",") if v.strip())
    created = [(kind.upper(), name) for kind, name in _CREATES.findall(sql)]
    kind, table = created[-1] if created else ("COLUMNS", "")
    return _Query(file, sql, headers["needs"], headers["needs_columns"], table, kind, tuple(created),
                  headers["value_counts"], headers["reads"])


def render(sql: str, as_of: date, values: Mapping[str, list[str]] | None = None) -> str:
    """Put the as-of date into SQL: ``:as_of`` becomes ``DATE 'YYYY-MM-DD'``; and the value
    lists: ``:<column>_values`` becomes the literal list ``values[column]`` and
    ``:<column>_counts`` one ``count_if(<column> = value)`` per value, in a list (a NULL list
    when the column is not in ``values``: too many values to count this way).

    The date is safe to inline because it comes from a ``date`` (its isoformat is digits and
    dashes), never from text; a ``datetime`` is cut to its date. The values are the shop's
    text, quoted as SQL string literals.
    """
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    if not isinstance(as_of, date):
        raise TypeError(f"as_of must be a datetime.date, not {type(as_of).__name__}")
    values = values or {}

    def list_sql(match: re.Match) -> str:
        column, what = match.groups()
        if column not in _VALUE_COLUMNS:
            return match.group(0)
        if column not in values:
            return "CAST(NULL AS BIGINT[])" if what == "counts" else "CAST(NULL AS VARCHAR[])"
        quoted = [_quote(v) for v in values[column]]
        if what == "values":
            return f"CAST([{', '.join(quoted)}] AS VARCHAR[])"
        return f"CAST([{', '.join(f'count_if({column} = {q})' for q in quoted)}] AS BIGINT[])"

    return _VALUES_PLACEHOLDER.sub(list_sql, _PLACEHOLDER.sub(f"DATE '{as_of.isoformat()}'", sql))


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def count_values(con: duckdb.DuckDBPyConnection, columns: Collection[str]) -> dict[str, list[str]]:
    """The distinct values of each value-count column (see VALUE_COUNT_MAX), sorted as DuckDB
    sorts text, over its base views; a column with more than VALUE_COUNT_MAX is left out."""
    found: dict[str, list[str]] = {}
    for column in columns:
        sources = " UNION ALL ".join(f"SELECT {column} AS value FROM {view}" for view in _VALUE_COLUMNS[column])
        rows = con.execute(
            f"SELECT DISTINCT value FROM ({sources}) AS v WHERE value IS NOT NULL "
            f"ORDER BY value LIMIT {VALUE_COUNT_MAX + 1}"
        ).fetchall()
        if len(rows) <= VALUE_COUNT_MAX:
            found[column] = [r[0] for r in rows]
    return found


# ---------------------------------------------------------------------------------------------
# Availability


def _missing(needs: tuple[str, ...], needs_columns: tuple[str, ...], tables: set[str],
             present_columns: Mapping[str, set[str]]) -> list[str]:
    """The needs not met, as the user reads them ("events or reviews", "orders.discount").

    A table listed in ``tables`` but absent from ``present_columns`` counts as having all its
    columns.
    """

    def has_column(qualified: str) -> bool:
        table, _, column = qualified.partition(".")
        if table not in tables:
            return False
        present = present_columns.get(table)
        return present is None or column in present

    missing = [n.replace("|", " or ") for n in needs if not any(alt in tables for alt in n.split("|"))]
    # A column of a missing table is already said by "needs <table>".
    missing += [c.replace("|", " or ") for c in needs_columns
                if not any(has_column(alt) for alt in c.split("|"))
                and any(alt.partition(".")[0] in tables for alt in c.split("|"))]
    return missing


def _reason(missing: list[str]) -> str:
    return "needs " + ", ".join(missing)


def _plan(tables: set[str], present_columns: Mapping[str, set[str]]):
    """Which files can compute each family (in order of preference: the first whose value
    counts exist is run), which fields are available, and why the others are not."""
    chosen: dict[str, list[_Query]] = {}
    family_reason: dict[str, str] = {}
    for family, files in _FAMILIES.items():
        first_missing: list[str] | None = None
        for file in files:
            query = load_query(file)
            missing = _missing(query.needs, query.needs_columns, tables, present_columns)
            if not missing:
                chosen.setdefault(family, []).append(query)
            elif first_missing is None:
                first_missing = missing
        if family not in chosen:
            family_reason[family] = _reason(first_missing or [])
    available: list[Field] = []
    unavailable: dict[str, str] = {}
    for f in FIELDS:
        missing = _missing(f.needs, f.needs_columns, tables, present_columns)
        if missing:
            unavailable[f.name] = _reason(missing)
        elif f.family not in chosen:
            unavailable[f.name] = family_reason[f.family]
        else:
            available.append(f)
    return chosen, tuple(available), unavailable


def feature_availability(tables: set[str], present_columns: Mapping[str, set[str]]
                         ) -> tuple[tuple[Field, ...], dict[str, str]]:
    """The fields a shop with these tables and columns can have, and why the rest cannot."""
    _, available, unavailable = _plan(set(tables), present_columns)
    return available, unavailable


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
    """
    tables = set(tables)
    if "orders" not in tables:
        from segtui.errors import SourceError

        raise SourceError("the shop has no orders table; segtui needs at least orders")
    report = progress or (lambda message, fraction: None)
    chosen, available, unavailable = _plan(tables, present_columns)
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
