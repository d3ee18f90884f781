"""The feature catalogue: every field of ``customer_features``, the families of SQL files that
compute them (``queries/features/``), and which of them a shop's tables and columns allow.

Reading a SQL file and rendering the as-of date and the value lists into it live here too;
``build`` runs the files, this module only describes them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from segtui.resources import queries_dir, read_query

FEATURE_TABLE = "customer_features"


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
# of preference: the first whose needs are met computes the family. These are the portable
# references (and genuine fallbacks, such as views_unbought_no_items.sql for shops without order
# lines); a DuckDB override ``NAME.duckdb.sql`` beside a reference ``NAME.sql`` is found by its
# name (see _candidates).
_FAMILIES: dict[str, tuple[str, ...]] = {
    "core": ("core.sql",),
    "events": ("events.sql",),
    "universe": ("universe.sql",),
    "rfm": ("rfm.sql",),
    "order_profile": ("order_profile.sql",),
    "order_habits": ("order_habits.sql",),
    "categories": ("categories.sql",),
    "views_unbought": ("views_unbought.sql", "views_unbought_no_items.sql"),
    "last_action": ("last_action.sql",),
    "pricier": ("pricier.sql",),
    "devices": ("devices.sql",),
    "complaints": ("complaints.sql",),
    "reviews": ("reviews.sql",),
    "returns": ("returns.sql",),
}
# The engines a build can pick files for: "duckdb" runs the DuckDB overrides where they exist,
# "reference" only the portable files (what Spark and the warehouses get, here run on DuckDB to
# prove that both give the same table).
ENGINES = ("duckdb", "reference")
OVERRIDE_SUFFIX = ".duckdb.sql"
# The spine of the final table: the universe is made of the core and event summaries.
_ALWAYS = ("core", "events", "universe")

_HEADER = re.compile(r"^--\s*(needs|needs_columns|value_counts|reads)\s*:(.*)$", re.MULTILINE)
# A columns file is one SELECT list without FROM (see _Query.columns).
_COLUMNS = re.compile(r"^SELECT\b(.*?);?\s*\Z", re.MULTILINE | re.DOTALL)
_CREATES = re.compile(r"CREATE\s+OR\s+REPLACE\s+TEMP\s+(TABLE|VIEW)\s+(\w+)", re.IGNORECASE)
_PLACEHOLDER = re.compile(r":as_of\b")
_VALUES_PLACEHOLDER = re.compile(r":(\w+?)_(counts|values)\b")

# Value counts (DuckDB overrides only). A "most frequent value" pick (main payment method,
# channel, device, OS) costs a GROUP BY over (customer, value): at a million customers a second
# hash table over ~10M orders or ~30M events. When the column has few distinct values, the pass
# that already groups those rows by customer (order_profile.duckdb.sql, events.duckdb.sql)
# counts each value instead, one count_if per value, into a list (``:<column>_counts``, in the order of ``:<column>_values``), and the pick
# is the first position of the greatest count (the values are sorted, so ties go to the
# alphabetically first). A column with more values than this falls back to the family's
# portable reference, which groups (order_habits.sql, devices.sql). Each key names the column and the base views
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
        modes order_profile.duckdb.sql picked) are written this way."""
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
    ``:<column>_counts`` one ``count_if(<column> = value)`` per value (0, not NULL, when none), in a list (a NULL list
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
        # COALESCE: count_if is NULL, not 0, for a customer whose rows all have a NULL value,
        # and a NULL count would spoil the sum of the order and event device counts.
        counts = ", ".join(f"COALESCE(count_if({column} = {q}), 0)" for q in quoted)
        return f"CAST([{counts}] AS BIGINT[])"

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


def _candidates(family: str, engine: str = "duckdb") -> tuple[str, ...]:
    """The files that may compute ``family`` on ``engine``, in order of preference.

    ``"reference"``: the family's portable files only (the SQL other engines run, transpiled
    by sqlglot). ``"duckdb"``: each file's DuckDB override (``NAME.duckdb.sql``, the same
    table by faster, DuckDB-only SQL) right before it, where there is one.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    files: list[str] = []
    for file in _FAMILIES[family]:
        override = file.removesuffix(".sql") + OVERRIDE_SUFFIX
        if engine == "duckdb" and _exists(override):
            files.append(override)
        files.append(file)
    return tuple(files)


@functools.cache
def _exists(file: str) -> bool:
    return (queries_dir() / "features" / file).is_file()


def _plan(tables: set[str], present_columns: Mapping[str, set[str]], engine: str = "duckdb"):
    """Which files can compute each family on ``engine`` (in order of preference: the first
    whose value counts exist is run), which fields are available, and why the others are not."""
    chosen: dict[str, list[_Query]] = {}
    family_reason: dict[str, str] = {}
    for family in _FAMILIES:
        first_missing: list[str] | None = None
        for file in _candidates(family, engine):
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
