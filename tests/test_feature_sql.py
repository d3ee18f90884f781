"""The feature SQL files themselves: the portable references transpile faithfully (a lint over
their syntax trees), and every DuckDB override builds the same table as its reference.

A reference (``NAME.sql``) is what other engines run, after ``sqlglot.transpile(..., read="duckdb",
write=...)``. sqlglot passes a function it does not know through unchanged and translates some
it does know unfaithfully, so the lint allows only constructs whose translation was checked.
"""

from __future__ import annotations

import math
import random
import re
from datetime import date, datetime, timedelta

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel
from test_features import Shop

from segtui.core import features as F
from segtui.core.features import catalog
from segtui.resources import read_query

AS_OF = date(2024, 3, 31)

REFERENCE_FILES = sorted(
    {"base_asof.sql", *catalog._BASES.values()}
    | {file for family in catalog._FAMILIES for file in catalog._candidates(family, "reference")}
)
OVERRIDE_FILES = sorted(
    file for family in catalog._FAMILIES for file in catalog._candidates(family, "duckdb")
    if file.endswith(catalog.OVERRIDE_SUFFIX)
)
DIALECTS = ("spark", "trino", "bigquery", "snowflake", "postgres")

# Functions (sqlglot expression classes) whose duckdb -> spark translation was checked by hand:
# same name or a Spark equivalent, same NULL handling. Any other function fails the lint until
# someone checks it and adds it here. Deliberately absent: DayOfWeekIso (ISODOW becomes
# `DAYOFWEEK(x) % 7 + 1` on Spark, which is not the ISO weekday), ArrayAgg (LIST), UnixToTime
# (make_timestamp), ArgMin/ArgMax (their tie-breaks rely on struct keys), Transform.
CHECKED_FUNCTIONS = {
    "And", "Or", "Not", "Case", "If", "Cast", "Coalesce", "Nullif", "Greatest", "Least",
    "Count", "CountIf", "Sum", "Avg", "Min", "Max", "Grouping",
    "DateDiff", "Extract", "Floor",
    "Round",  # ROUND(x, 2) on a double: Spark rounds HALF_UP, DuckDB half away from zero (the same)
    "RowNumber", "DenseRank", "PercentRank",
}
# Functions sqlglot does not know (exp.Anonymous, passed through unchanged) that Spark has
# under the same name with the same meaning. Empty today: every reference sticks to known ones.
SPARK_FUNCTIONS: set[str] = set()
# Constructs with no faithful Spark translation: DuckDB lists are 1-based, Spark arrays 0-based;
# lambdas, structs and bit tricks differ in syntax or width; a placeholder is DuckDB-only
# machinery of render().
DENIED = (exp.Bracket, exp.Array, exp.Lambda, exp.Struct, exp.PropertyEQ, exp.BitwiseLeftShift,
          exp.BitwiseRightShift, exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor, exp.BitwiseNot,
          exp.Placeholder)


def select_of(sql: str) -> exp.Expression:
    """The statement other engines run: the SELECT after ``CREATE ... AS`` (or the SELECT list
    of a columns file)."""
    statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None and not isinstance(s, exp.Semicolon)]
    assert len(statements) == 1, "a feature file holds one statement"
    tree = statements[0]
    assert isinstance(tree, (exp.Create, exp.Select)), type(tree).__name__
    return tree.expression if isinstance(tree, exp.Create) else tree


def lateral_aliases(select: exp.Select) -> list[str]:
    """Columns of a SELECT list that read an alias defined by another item of the same list
    (DuckDB's lateral column aliases; Spark and most engines reject or misread them)."""
    defined = {item.alias: item for item in select.expressions
               if isinstance(item, exp.Alias)
               and not (isinstance(item.this, exp.Column) and item.this.name == item.alias)}
    found = []
    for item in select.expressions:
        for column in item.find_all(exp.Column):
            if (not column.table and column.name in defined and defined[column.name] is not item
                    and column.find_ancestor(exp.Select) is select):
                found.append(column.name)
    return found


def problems(sql: str) -> list[str]:
    """Why the SELECT of this SQL (a file's text) would not transpile faithfully; empty when it
    does."""
    found = []
    if re.search(r":\w+_(counts|values)\b", sql):
        found.append("value-count placeholder")
    select = select_of(F.render(sql, AS_OF))
    for node in select.walk():
        if isinstance(node, exp.Anonymous):
            if node.name.lower() not in SPARK_FUNCTIONS:
                found.append(f"function unknown to sqlglot: {node.name}")
        elif isinstance(node, DENIED):
            found.append(f"construct without a Spark equivalent: {type(node).__name__}")
        elif isinstance(node, exp.Func) and type(node).__name__ not in CHECKED_FUNCTIONS:
            found.append(f"function not checked for Spark: {type(node).__name__} ({node.sql('duckdb')[:40]})")
    for node in select.find_all(exp.Select):
        found += [f"lateral column alias: {name}" for name in lateral_aliases(node)]
    spark = select.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    if "QUALIFY" in spark.upper():
        found.append("QUALIFY that sqlglot does not rewrite for Spark")
    return found


@pytest.mark.parametrize("file", REFERENCE_FILES)
def test_reference_sql_is_portable(file):
    sql = read_query(f"features/{file}")
    assert problems(sql) == []
    select = select_of(F.render(sql, AS_OF))
    for dialect in DIALECTS:
        out = select.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
        assert sqlglot.parse_one(out, read=dialect) is not None, dialect


def test_the_lint_fails_on_duckdb_only_sql():
    """The lint can fail: today's DuckDB overrides are what it exists to catch (checked by hand
    too: core.duckdb.sql, the DuckDB-only core.sql of before the references, fails on
    list_unique, LIST and its lateral alias order_ids)."""
    core = problems(read_query("features/core.duckdb.sql"))
    assert "function unknown to sqlglot: list_unique" in core
    assert "lateral column alias: order_ids" in core
    assert any("ArrayAgg" in p for p in core)
    events = problems(read_query("features/events.duckdb.sql"))
    assert "function unknown to sqlglot: epoch_us" in events
    assert any("Bracket" in p for p in events) and any("BitwiseLeftShift" in p for p in events)
    assert "value-count placeholder" in events
    cases = {
        "SELECT GREATEST(a.x, a.y) AS t, CASE WHEN a.x = t THEN 1 END AS z FROM a": "lateral column alias: t",
        "SELECT ISODOW(x) FROM a": "DayOfWeekIso",
        "SELECT ARG_MIN(v, STRUCT_PACK(n := -n, v := v)) FROM a": "ArgMin",
        "SELECT list_transform(l, lambda p: p[1] + p[2]) FROM a": "Lambda",
        "SELECT [1, 2] AS l FROM a": "Array",
    }
    for sql, problem in cases.items():
        assert any(problem in p for p in problems(sql)), sql
    assert problems("SELECT a, SUM(n) AS n, COUNT(*) AS rows_ FROM t GROUP BY a") == []


@pytest.mark.parametrize("file", OVERRIDE_FILES)
def test_every_override_has_a_reference_with_its_fields(file):
    reference = file.removesuffix(catalog.OVERRIDE_SUFFIX) + ".sql"
    family = reference.removesuffix(".sql")
    assert reference in catalog._FAMILIES[family]
    override, ref = catalog.load_query(file), catalog.load_query(reference)
    assert override.kind == "COLUMNS" or override.table == ref.table


# ---------------------------------------------------------------------------------------------
# Every override builds the same table as its reference


EVENT_TYPES = ("page_view", "product_view", "cart_add", "checkout_start", "email_open", "email_click",
               "complaint", "search", "other", None)
DAYS = [datetime(2024, 1, 2) + timedelta(days=d) for d in range(0, 130, 4)]


def _at(rng: random.Random) -> datetime:
    """A coarse instant (a few days, a few hours), so that orders, events and reviews often
    share one: ties in the last action and in every mode."""
    return rng.choice(DAYS) + timedelta(hours=rng.choice((0, 9, 12, 23)))


def _maybe(rng: random.Random, value, p: float = 0.08):
    return None if rng.random() < p else value


def random_shop(seed: int, *, events: bool = True, items: bool = True, many_methods: bool = False,
                ids: str = "BIGINT", customers: int = 70) -> Shop:
    """A seeded shop with the mess real data has: NULL ids, timestamps, totals, categories and
    devices, orders of several rows, a product listed twice, ties everywhere."""
    rng = random.Random(seed)
    methods = [f"pay {i:02d}" for i in range(F.VALUE_COUNT_MAX + 3)] if many_methods else ["card", "invoice", "paypal"]
    products = [{"product_id": p, "category": _maybe(rng, rng.choice(("bags", "hats", "shoes")), 0.15),
                 "price": _maybe(rng, float(rng.randint(5, 60)))} for p in range(1, 13)]
    products.append({"product_id": 3, "category": "aprons", "price": 99.0})
    tables: dict[str, list[dict]] = {"orders": [], "customers": [], "events": [], "reviews": [],
                                     "returns": [], "products": products, "order_items": []}
    oid = 1
    for cid in range(1, customers + 1):
        if rng.random() < 0.7:
            tables["customers"].append({
                "customer_id": cid, "created_at": _maybe(rng, _at(rng) - timedelta(days=60), 0.3),
                "country": rng.choice(("DE", "FR", None)), "city": rng.choice(("Berlin", None)),
                "birth_date": _maybe(rng, date(1960 + 4 * rng.randint(0, 10), 2, 29 if rng.random() < 0.2 else 3), 0.3),
                "gender": rng.choice(("f", "m", None)), "email_opt_in": rng.choice((True, False, None))})
        for _ in range(rng.choice((0, 1, 1, 2, 3, 4, 7))):
            at = _maybe(rng, _at(rng), 0.04)
            row = {"order_id": _maybe(rng, oid, 0.05), "customer_id": _maybe(rng, cid, 0.03), "ordered_at": at,
                   "total": _maybe(rng, rng.randint(-2000, 30000) / 100, 0.05),
                   "discount": rng.choice((None, 0.0, 5.0)), "channel": rng.choice((None, "app", "store", "web")),
                   "device": rng.choice((None, "desktop", "mobile", "tablet")),
                   "payment_method": rng.choice((None, *methods))}
            tables["orders"].append(row)
            if rng.random() < 0.08:   # a second row of the same order
                tables["orders"].append({**row, "total": 1.5})
            for _ in range(rng.randint(1, 3)):
                tables["order_items"].append({
                    "order_id": oid, "product_id": _maybe(rng, rng.randint(1, 13), 0.05),
                    "quantity": _maybe(rng, float(rng.randint(1, 3))), "price": _maybe(rng, float(rng.randint(5, 70)), 0.3)})
            if rng.random() < 0.15:
                tables["returns"].append({"order_id": oid, "returned_at": _maybe(rng, _at(rng), 0.3)})
            oid += 1
        for _ in range(rng.choice((0, 0, 1, 3, 6, 12)) if events else 0):
            tables["events"].append({
                "customer_id": _maybe(rng, cid, 0.03), "occurred_at": _maybe(rng, _at(rng), 0.03),
                "type": rng.choice(EVENT_TYPES), "product_id": _maybe(rng, rng.randint(1, 13), 0.2),
                "device": rng.choice((None, "desktop", "mobile", "tv")), "os": rng.choice((None, "android", "ios")),
                "session_id": rng.choice((None, "s1", f"s{cid}", f"s{cid}b"))})
        for _ in range(rng.choice((0, 0, 1, 2))):
            tables["reviews"].append({
                "customer_id": _maybe(rng, cid, 0.05), "created_at": _maybe(rng, _at(rng), 0.05),
                "rating": _maybe(rng, float(rng.randint(1, 5))), "kind": rng.choice(("review", "complaint", "nps", None))})
    if not items:
        del tables["order_items"]
    return Shop(ids=ids, **tables)


#: Fields computed in Python (``-- computed_by:``): DuckDB only, unavailable on the reference engine.
COMPUTED = {f.name for f in F.FIELDS if catalog.load_query(f"{f.family}.sql").computed_by}


def _table(shop: Shop, as_of: date, engine: str):
    """The feature set, and the table's types and rows without the computed fields."""
    shop.engine = engine
    feature_set = shop.build(as_of)
    types = [(name, kind) for name, kind in shop.con.execute(
        "SELECT column_name, column_type FROM (DESCRIBE customer_features)").fetchall() if name not in COMPUTED]
    rows = shop.con.execute(f"SELECT {', '.join(name for name, _ in types)} FROM customer_features "
                            "ORDER BY customer_id").fetchall()
    return feature_set, types, rows


def _same(a, b) -> bool:
    # Doubles within 1e-12 relative: a sum of doubles (a category's spend) may be
    # added up in another order by another plan, which can change its last bits; every other
    # value (counts, days, picks, timestamps, flags, shares of two exact counts) must be equal.
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0) or (math.isnan(a) and math.isnan(b))
    return a == b


@pytest.mark.parametrize(("seed", "shape"), [
    (1, {}),
    (2, {"many_methods": True}),        # more payment methods than VALUE_COUNT_MAX: the fallback runs
    (3, {"events": False}),              # an empty events table
    (4, {"items": False}),               # no order_items: views_unbought_no_items.sql
    (5, {"ids": "VARCHAR"}),
])
def test_duckdb_overrides_build_the_reference_table(seed, shape):
    shop = random_shop(seed, **shape)
    for as_of in (date(2024, 2, 10), date(2024, 3, 31), date(2024, 6, 30)):
        duck_set, duck_types, duck_rows = _table(shop, as_of, "duckdb")
        ref_set, ref_types, ref_rows = _table(shop, as_of, "reference")
        assert [f for f in duck_set.available if f.name not in COMPUTED] == list(ref_set.available)
        assert {name: reason for name, reason in ref_set.unavailable.items() if name not in COMPUTED} == \
            duck_set.unavailable
        assert COMPUTED <= set(ref_set.unavailable) and COMPUTED.isdisjoint(duck_set.unavailable)
        assert duck_types == ref_types
        assert len(duck_rows) == len(ref_rows) > 30
        for duck, ref in zip(duck_rows, ref_rows):
            assert len(duck) == len(ref)
            diff = {name: (d, r) for (name, _), d, r in zip(duck_types, duck, ref) if not _same(d, r)}
            assert not diff, (as_of, duck[0], diff)


# ---------------------------------------------------------------------------------------------
# The catalogue comes from the reference files' headers


# The catalogue as the hand-written Python list had it before the fields moved into the SQL
# headers (name, type, unit, needs, needs_columns, family, fill, definition), in column order:
# the parsed headers must say exactly this until a field is deliberately changed here too.
EXPECTED_FIELDS = (
    ('orders', 'BIGINT', 'orders', ('orders',), (), 'core', '0',
     'Number of distinct orders placed on or before the as-of date (0 if none).'),
    ('total_spent', 'DOUBLE', 'money', ('orders',), (), 'core', '0',
     'Sum of the order totals on or before the as-of date, rounded to the cent, refunds (negative totals) included and a missing total counted as 0.'),
    ('avg_order_value', 'DOUBLE', 'money', ('orders',), (), 'core', None,
     'total_spent divided by orders; NULL without orders.'),
    ('first_order_at', 'TIMESTAMP', 'timestamp', ('orders',), (), 'core', None,
     "Timestamp of the customer's first order on or before the as-of date."),
    ('last_order_at', 'TIMESTAMP', 'timestamp', ('orders',), (), 'core', None,
     "Timestamp of the customer's latest order on or before the as-of date."),
    ('days_since_last_order', 'BIGINT', 'days', ('orders',), (), 'core', None,
     "Whole days between the latest order's date and the as-of date (0 for an order on the as-of day)."),
    ('days_since_first_order', 'BIGINT', 'days', ('orders',), (), 'core', None,
     "Whole days between the first order's date and the as-of date."),
    ('avg_days_between_orders', 'DOUBLE', 'days', ('orders',), (), 'core', None,
     "Days between the first and the latest order's dates divided by (orders - 1); NULL below 2 orders."),
    ('overdue_ratio', 'DOUBLE', 'ratio', ('orders',), (), 'core', None,
     "days_since_last_order divided by avg_days_between_orders (above 1: later than the customer's own rhythm); NULL when that average is NULL or 0."),
    ('spend_percentile', 'DOUBLE', 'percentile 0-100', ('orders',), (), 'core', None,
     'Percentage of the other buyers who spent strictly less (100 * percent_rank of total_spent; ties share a value, a lone buyer gets 0); NULL without orders.'),
    ('orders_365d', 'BIGINT', 'orders', ('orders',), (), 'core', '0',
     'Number of orders in the last 365 days (the as-of day and the 364 days before it).'),
    ('usage_level', 'VARCHAR', 'level', ('orders',), (), 'rfm', "'none'",
     "'heavy' (percent_rank of orders_365d >= 0.8 among customers with an order in the last 365 days), 'medium' (>= 0.5), 'light' (the rest of them) or 'none' (no order in the last 365 days)."),
    ('r_score', 'BIGINT', 'score 1-5', ('orders',), (), 'rfm', None,
     'Recency score 1-5 among buyers (5 = most recent): least(5, 1 + floor(5 * percent_rank)) of days_since_last_order, descending; NULL without orders.'),
    ('f_score', 'BIGINT', 'score 1-5', ('orders',), (), 'rfm', None,
     'Frequency score 1-5 among buyers (5 = most orders): least(5, 1 + floor(5 * percent_rank)) of orders; NULL without orders.'),
    ('m_score', 'BIGINT', 'score 1-5', ('orders',), (), 'rfm', None,
     'Monetary score 1-5 among buyers (5 = highest spend): least(5, 1 + floor(5 * percent_rank)) of total_spent; NULL without orders.'),
    ('rfm_segment', 'VARCHAR', 'segment', ('orders',), (), 'rfm', None,
     "The buyer's cell in the standard recency x frequency grid (Champions, Loyal customers, Potential loyalists, New customers, Promising, Need attention, About to sleep, At risk, Can't lose them, Hibernating); NULL without orders."),
    ('discount_share', 'DOUBLE', 'share 0-1', ('orders',), ('orders.discount',), 'order_profile', None,
     "Share of the customer's orders with a discount above 0 (a missing discount counts as none); NULL without orders."),
    ('full_price_share', 'DOUBLE', 'share 0-1', ('orders',), ('orders.discount',), 'order_profile', None,
     "Share of the customer's orders without a discount (1 - discount_share); NULL without orders."),
    ('preferred_hour', 'BIGINT', 'hour 0-23', ('orders',), (), 'order_profile', None,
     'Hour of the day (0-23) in which the customer placed the most orders; ties go to the earliest hour.'),
    ('preferred_weekday', 'BIGINT', 'weekday 1-7', ('orders',), (), 'order_profile', None,
     'ISO weekday (1 = Monday to 7 = Sunday) on which the customer placed the most orders; ties go to the earliest day.'),
    ('preferred_weekday_name', 'VARCHAR', 'weekday', ('orders',), (), 'order_profile', None,
     'preferred_weekday as a name: Mon, Tue, Wed, Thu, Fri, Sat or Sun.'),
    ('weekend_share', 'DOUBLE', 'share 0-1', ('orders',), (), 'order_profile', None,
     "Share of the customer's orders placed on a Saturday or Sunday; NULL without orders."),
    ('holiday_share', 'DOUBLE', 'share 0-1', ('orders',), (), 'order_profile', None,
     "Share of the customer's orders placed in November or December; NULL without orders."),
    ('main_payment_method', 'VARCHAR', 'payment method', ('orders',), ('orders.payment_method',), 'order_habits', None,
     "Payment method of most of the customer's orders; ties go to the alphabetically first."),
    ('main_channel', 'VARCHAR', 'channel', ('orders',), ('orders.channel',), 'order_habits', None,
     "Sales channel of most of the customer's orders; ties go to the alphabetically first."),
    ('favorite_category', 'VARCHAR', 'category', ('orders', 'order_items', 'products'), ('products.category',), 'categories', None,
     'Category with the most items (sum of quantity) bought; ties broken by spend in it, then by name ascending.'),
    ('category_count', 'BIGINT', 'categories', ('orders', 'order_items', 'products'), ('products.category',), 'categories', '0',
     'Number of distinct product categories the customer has bought.'),
    ('product_views_30d', 'BIGINT', 'events', ('events',), (), 'events', '0',
     'Number of product_view events in the last 30 days (the as-of day and the 29 before it).'),
    ('visits_30d', 'BIGINT', 'days', ('events',), (), 'events', '0',
     'Number of distinct days in the last 30 with any event other than an email open or click.'),
    ('sessions_30d', 'BIGINT', 'sessions', ('events',), ('events.session_id',), 'events', '0',
     'Number of distinct session ids among the events of the last 30 days.'),
    ('email_opens_90d', 'BIGINT', 'events', ('events',), (), 'events', '0',
     'Number of email_open events in the last 90 days.'),
    ('email_clicks_90d', 'BIGINT', 'events', ('events',), (), 'events', '0',
     'Number of email_click events in the last 90 days.'),
    ('views_without_purchase', 'BIGINT', 'events', ('events',), (), 'views_unbought', '0',
     'Product views in the last 30 days of products the customer never bought (without order lines: all product views of the last 30 days when no order was placed in them).'),
    ('last_action', 'VARCHAR', 'action', ('events',), (), 'last_action', None,
     "The customer's latest action: order, review or an event of type page_view, product_view, cart_add, checkout_start, email_open, email_click, complaint or search (ties: order, then alphabetical)."),
    ('days_since_last_action', 'BIGINT', 'days', ('events',), (), 'last_action', None,
     'Whole days between the date of last_action and the as-of date.'),
    ('has_abandoned_cart', 'BOOLEAN', 'flag', ('events',), (), 'last_action', 'FALSE',
     'True when the latest cart_add or checkout_start event is at least 24 hours before the end of the as-of day and no order followed it.'),
    ('days_since_cart_activity', 'BIGINT', 'days', ('events',), (), 'last_action', None,
     "Whole days between the latest cart_add or checkout_start event's date and the as-of date."),
    ('viewed_pricier_before_buying', 'BOOLEAN', 'flag', ('events', 'order_items', 'products'), ('events.product_id', 'products.category', 'products.price'), 'pricier', 'FALSE',
     'True when, in the 7 days before an order, the customer viewed another product of the same category with a higher list price than the unit price paid for a product in that order.'),
    ('main_device', 'VARCHAR', 'device', ('orders',), ('orders.device|events.device',), 'devices', None,
     "Device of most of the customer's orders and events counted together; ties go to the alphabetically first."),
    ('main_os', 'VARCHAR', 'os', ('events',), ('events.os',), 'devices', None,
     "Operating system of most of the customer's events; ties go to the alphabetically first."),
    ('complaints', 'BIGINT', 'complaints', ('events|reviews',), (), 'complaints', '0',
     "Number of complaint events plus reviews of kind 'complaint' on or before the as-of date."),
    ('days_since_last_complaint', 'BIGINT', 'days', ('events|reviews',), (), 'complaints', None,
     "Whole days between the latest complaint's date and the as-of date."),
    ('reviews', 'BIGINT', 'reviews', ('reviews',), (), 'reviews', '0',
     'Number of reviews of any kind written on or before the as-of date.'),
    ('avg_rating', 'DOUBLE', 'rating 1-5', ('reviews',), ('reviews.rating',), 'reviews', None,
     'Mean rating of those reviews (1-5, missing ratings ignored).'),
    ('returned_orders', 'BIGINT', 'orders', ('orders', 'returns'), (), 'returns', '0',
     "Number of the customer's orders with a return on or before the as-of date."),
    ('return_rate', 'DOUBLE', 'share 0-1', ('orders', 'returns'), (), 'returns', None,
     'returned_orders divided by orders; NULL without orders.'),
    ('p_alive', 'DOUBLE', 'probability 0-1', ('orders',), (), 'predict', None,
     "Probability that the buyer is still a customer (BG/NBD, Fader-Hardie-Lee equation 12): 1 without a repeat purchase, falling the longer the buyer's silence lasts against their own pace; NULL without orders."),
    ('expected_orders_30d', 'DOUBLE', 'orders', ('orders',), (), 'predict', None,
     'Expected purchase days in the 30 days after the as-of date (BG/NBD conditional expectation, equation 10); NULL without orders.'),
    ('expected_orders_90d', 'DOUBLE', 'orders', ('orders',), (), 'predict', None,
     'Expected purchase days in the 90 days after the as-of date (BG/NBD conditional expectation, equation 10); NULL without orders.'),
    ('expected_spend_per_order', 'DOUBLE', 'money', ('orders',), (), 'predict', None,
     "Expected spend per purchase day (Gamma-Gamma: the buyer's mean repeat spend shrunk towards the shop's mean; the shop's mean without a repeat purchase); NULL without orders or when the spend has no mean (q <= 1)."),
    ('clv_365d', 'DOUBLE', 'money', ('orders',), (), 'predict', None,
     'Expected spend in the 365 days after the as-of date: expected purchase days over 365 days times expected_spend_per_order, undiscounted unless --discount-rate (each month\'s share then discounted at that yearly rate); NULL without orders.'),
    ('clv_percentile', 'DOUBLE', 'percentile 0-100', ('orders',), (), 'predict', None,
     'Percentage of the other buyers with a smaller clv_365d (100 * percent_rank; ties share a value); NULL without clv_365d.'),
    ('country', 'VARCHAR', 'country', ('customers',), ('customers.country',), 'universe', None,
     'Country from the customers table.'),
    ('city', 'VARCHAR', 'city', ('customers',), ('customers.city',), 'universe', None,
     'City from the customers table.'),
    ('age', 'BIGINT', 'years', ('customers',), ('customers.birth_date',), 'universe', None,
     'Age in whole years at the as-of date, from birth_date.'),
    ('gender', 'VARCHAR', 'gender', ('customers',), ('customers.gender',), 'universe', None,
     'Gender from the customers table.'),
    ('email_opt_in', 'BOOLEAN', 'flag', ('customers',), ('customers.email_opt_in',), 'universe', None,
     'Whether the customer agreed to receive marketing email, from the customers table.'),
    ('tenure_days', 'BIGINT', 'days', ('orders',), (), 'universe', None,
     'Whole days since the customer was created, or since their first order or event when no created_at is known.'),
)


def test_the_catalogue_is_read_from_the_sql_headers():
    assert [(f.name, f.type, f.unit, f.needs, f.needs_columns, f.family, f.fill, f.description)
            for f in F.FIELDS] == list(EXPECTED_FIELDS)
    assert F.FIELDS == tuple(catalog.Field(name, type_, description, unit, needs, needs_columns, family, fill)
                             for name, type_, unit, needs, needs_columns, family, fill, description in EXPECTED_FIELDS)
    assert set(catalog._CATALOGUE) == set(catalog._FAMILIES)
    for f in F.FIELDS:
        assert f.description.strip() and f.unit.strip(), f.name


def _header_of(monkeypatch, text: str):
    monkeypatch.setattr(catalog, "read_query", lambda relative: text)


@pytest.mark.parametrize(("header", "problem"), [
    ("-- nedds: orders\n", "shop.sql: unknown header key 'nedds'"),
    ("-- field: x BIGINT [days] fil=0: Days.\n-- needs: orders\n", "shop.sql: field x has an unknown option 'fil'"),
    ("-- field: x BIGINT days: Days.\n", "shop.sql: cannot read the field"),
])
def test_an_unreadable_header_is_an_error_naming_the_file(monkeypatch, header, problem):
    _header_of(monkeypatch, header + "SELECT 1 AS x")
    with pytest.raises(catalog.CatalogueError, match=re.escape(problem)):
        catalog.load_query("shop.sql")


def test_a_field_line_continues_and_takes_the_files_needs(monkeypatch):
    _header_of(monkeypatch, "-- Prose: not a key (capitalised), and a line that merely mentions\n"
                            "-- field: x BIGINT [days] fill=0: Whole days between\n"
                            "--     this and that.\n"
                            "-- field: y VARCHAR [os] needs=events|reviews: Text.\n"
                            "--   continued: too.\n"
                            "-- Prose again.\n"
                            "-- needs: orders, events\n-- needs_columns: events.os\n"
                            "CREATE OR REPLACE TEMP TABLE feature_shop AS SELECT 1 AS x, 'a' AS y;")
    x, y = catalog.load_query("shop.sql").fields
    assert x == catalog.Field("x", "BIGINT", "Whole days between this and that.", "days",
                              ("orders", "events"), ("events.os",), "shop", "0")
    assert y == catalog.Field("y", "VARCHAR", "Text. continued: too.", "os", ("events|reviews",), (), "shop", None)
    _header_of(monkeypatch, "-- field: x BIGINT [days]: Days.\nSELECT 1 AS x")
    with pytest.raises(catalog.CatalogueError, match="shop.duckdb.sql: declare fields in the reference"):
        catalog.load_query("shop.duckdb.sql")
