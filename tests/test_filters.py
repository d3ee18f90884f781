"""The filter language: what it accepts, what it refuses and how it says so."""

from __future__ import annotations

import duckdb
import pytest
from conftest import features_table
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from segtui.core.filters import FUNCTIONS, OPERATORS, FieldUnavailable, compile_filter, referenced_columns
from segtui.errors import FilterError

COLUMNS = {
    "customer_id": "BIGINT",
    "orders": "BIGINT",
    "total_spent": "DOUBLE",
    "avg_order_value": "DOUBLE",
    "last_order_at": "TIMESTAMP",
    "first_order_date": "DATE",
    "days_since_last_order": "BIGINT",
    "overdue_ratio": "DOUBLE",
    "spend_percentile": "DOUBLE",
    "favorite_category": "VARCHAR",
    "has_abandoned_cart": "BOOLEAN",
    "preferred_hour": "INTEGER",
}
UNAVAILABLE = {"main_os": "needs events", "return_rate": "needs returns"}

ROWS = [
    # id, orders, spent, aov, last_order_at, first_order_date, days, overdue, pct, category, cart, hour
    (1, 0, 0.0, None, None, None, None, None, None, None, False, None),
    (2, 1, 50.0, 50.0, "2024-05-01 10:00:00", "2024-05-01", 31, None, 10.0, "shoes", True, 10),
    (3, 5, 900.0, 180.0, "2024-05-30 19:30:00", "2023-01-15", 2, 0.1, 95.0, "dresses", False, 19),
    (4, 2, 120.0, 60.0, "2023-12-24 12:00:00", "2023-11-20", 159, 4.6, 40.0, "Shoes", False, 12),
    (5, 12, 3000.0, 250.0, "2024-06-01 08:15:00", "2021-03-03", 0, 0.0, 100.0, "bags", True, 8),
]


def make_features() -> duckdb.DuckDBPyConnection:
    return features_table(COLUMNS, ROWS)


@pytest.fixture(scope="module")
def con():
    return make_features()


def count(con, expr: str, **kwargs) -> int:
    sql = compile_filter(expr, COLUMNS, UNAVAILABLE, **kwargs)
    return con.execute(f"SELECT count(*) FROM customer_features WHERE {sql}").fetchone()[0]


def refusal(expr: str, **kwargs) -> FilterError:
    with pytest.raises(FilterError) as caught:
        compile_filter(expr, COLUMNS, UNAVAILABLE, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and "\x1b" not in message, message
    return caught.value


# --------------------------------------------------------------------------------------------
# accepted grammar, one construct at a time (counts checked against the fixture)

ACCEPTED = [
    ("orders > 1", 3),
    ("orders >= 2 AND total_spent < 1000", 2),
    ("orders = 0 OR orders = 12", 2),
    ("NOT (orders > 1)", 2),
    ("orders != 1 and orders <> 2", 3),
    ("orders <= 1", 2),
    ("has_abandoned_cart", 2),
    ("NOT has_abandoned_cart", 3),
    ("has_abandoned_cart = TRUE", 2),
    ("orders IN (1, 2, 3)", 2),
    ("orders NOT IN (1, 2)", 3),
    ("orders BETWEEN 1 AND 5", 3),
    ("orders NOT BETWEEN 1 AND 5", 2),
    ("favorite_category LIKE 'sh%'", 1),
    ("favorite_category ILIKE 'sh%'", 2),
    ("favorite_category NOT LIKE 'sh%'", 3),
    ("favorite_category IS NULL", 1),
    ("favorite_category IS NOT NULL", 4),
    ("total_spent / orders > 100", 2),  # orders = 0 divides by NULL, not to inf
    ("orders % 2 = 0", 3),
    ("-orders < -4", 2),
    ("total_spent - 100 * 2 + 1 > 0", 2),
    ("CASE WHEN orders > 4 THEN total_spent ELSE 0 END > 1000", 1),
    ("CAST(orders AS VARCHAR) = '5'", 1),
    ("CAST(favorite_category AS INTEGER) IS NULL", 5),  # TRY_CAST: never fails the count
    ("orders::DOUBLE > 4.5", 2),
    ("last_order_at >= DATE '2024-05-01'", 3),
    ("last_order_at < TIMESTAMP '2024-05-30 12:00:00'", 2),
    ("last_order_at > '2024-05-15'", 2),
    ("last_order_at > TIMESTAMP '2024-06-01' - INTERVAL 7 DAY", 2),
    ("date_diff('day', first_order_date, last_order_at) > 100", 2),
    ("datediff('day', first_order_date, last_order_at) > 100", 2),
    ("year(last_order_at) = 2024 AND month(first_order_date) IN (1, 3)", 2),
    ("lower(favorite_category) = 'shoes'", 2),
    ("upper(favorite_category) = 'SHOES'", 2),
    ("length(favorite_category) = 4", 1),
    ("abs(-orders) = 5", 1),
    ("round(avg_order_value, -2) = 200", 1),
    ("floor(overdue_ratio) = 4 OR ceil(overdue_ratio) = 1", 2),
    ("coalesce(spend_percentile, 0) = 0", 1),
    ("nullif(orders, 0) IS NULL", 1),
    ("least(orders, 3) = 3 AND greatest(orders, 10) = 10", 1),
    ('"orders" > 1', 3),
    ("ORDERS > 1", 3),
    ("orders > 1 -- a trailing comment", 3),
    ("orders > 1 /* inline */ AND orders < 10", 2),
    ("orders > 1\n  AND has_abandoned_cart", 1),
    ("TRUE", 5),
    ("favorite_category = 'it''s'", 0),
]


@pytest.mark.parametrize(("expr", "expected"), ACCEPTED)
def test_accepted(con, expr, expected):
    assert count(con, expr) == expected


def test_output_quotes_identifiers_and_guards_division():
    sql = compile_filter("total_spent / orders > 1 AND orders % 2 = 0", COLUMNS)
    assert '"total_spent" / NULLIF("orders", 0)' in sql
    assert '"orders" % NULLIF(2, 0)' in sql


def test_column_names_take_their_declared_spelling():
    assert compile_filter("ORDERS > 1", COLUMNS) == '"orders" > 1'


def test_in_segment_inlines_in_parentheses(con):
    segments = {"best customers": '"orders" > 4 OR "total_spent" > 1000'}
    sql = compile_filter(
        "in_segment('Best customers') AND orders < 10", COLUMNS, resolve_segment=lambda n: segments[n.lower()]
    )
    assert sql == '("orders" > 4 OR "total_spent" > 1000) AND "orders" < 10'
    assert count(con, "in_segment('Best customers')", resolve_segment=lambda n: segments[n.lower()]) == 2


# --------------------------------------------------------------------------------------------
# refused grammar: exact message shapes and positions


@pytest.mark.parametrize(
    ("expr", "message", "position"),
    [
        ("orders > 1; DROP TABLE x", "';' is not allowed: a filter is one expression at column 11", 10),
        ("orders > 1;", "';' is not allowed: a filter is one expression at column 11", 10),
        ("(SELECT 1)", "subqueries are not allowed in a filter at column 2", 1),
        ("orders IN (SELECT orders FROM t)", "IN needs a list of values, e.g. orders IN (1, 2, 3) at column 1", 0),
        ("orders > 1 AND EXISTS (SELECT 1)", "subqueries are not allowed in a filter at column 24", 23),
        ("orders > (SELECT max(orders) FROM customer_features)", "subqueries are not allowed in a filter at column 11", 10),
        ("read_csv('x') IS NULL", "table function 'read_csv' is not allowed in a filter at column 1", 0),
        ("read_parquet('x.parquet') IS NULL", "table function 'read_parquet' is not allowed in a filter at column 1", 0),
        ("ATTACH 'x.duckdb' AS x", "statements are not allowed in a filter ('ATTACH') at column 1", 0),
        ("COPY customer_features TO 'x.csv'", "statements are not allowed in a filter ('COPY') at column 1", 0),
        ("PRAGMA version", "statements are not allowed in a filter ('PRAGMA') at column 1", 0),
        ("SET threads = 1", "statements are not allowed in a filter ('SET') at column 1", 0),
        ("INSTALL httpfs", "statements are not allowed in a filter ('INSTALL') at column 1", 0),
        ("LOAD httpfs", "statements are not allowed in a filter ('LOAD') at column 1", 0),
        ("SELECT 1", "statements are not allowed in a filter ('SELECT') at column 1", 0),
        ("DROP TABLE customer_features", "statements are not allowed in a filter ('DROP') at column 1", 0),
        ("x.orders > 1", "qualified name 'x.orders' is not allowed; write 'orders' at column 1", 0),
        ("*", "'*' is not allowed in a filter at column 1", 0),
        ("orders > 1 AND count(*) > 1", "aggregate function 'count' is not allowed: a filter tests one customer at a time at column 16", 15),
        ("sum(orders) > 1", "aggregate function 'sum' is not allowed: a filter tests one customer at a time at column 1", 0),
        ("orders > 1 and avg(total_spent) > 1", "aggregate function 'avg' is not allowed: a filter tests one customer at a time at column 16", 15),
        ("row_number() OVER () > 1", "window functions (OVER) are not allowed in a filter at column 14", 13),
        ("foo(orders) > 1", "unknown function 'foo' at column 1; did you mean 'floor'?", 0),
        ("orders > 1 AND lowr(favorite_category) = 'x'", "unknown function 'lowr' at column 16; did you mean 'lower'?", 15),
        ("ordrs > 1", "unknown field 'ordrs' at column 1; did you mean 'orders'?", 0),
        ("orders > 1 AND totl_spent > 2", "unknown field 'totl_spent' at column 16; did you mean 'total_spent'?", 15),
        ("zzz > 1", "unknown field 'zzz' at column 1", 0),
        ('favorite_category = "Shoes"', "unknown field \"Shoes\" at column 21; text takes single quotes: 'Shoes'", 20),
        ('favorite_category = "it\'s"', "unknown field \"it's\" at column 21; text takes single quotes: 'it''s'", 20),
        ('"ordrs" > 1', "unknown field 'ordrs' at column 1; did you mean 'orders'?", 0),
        ("orders > 1\n  AND ordrs > 1", "unknown field 'ordrs' at line 2, column 7; did you mean 'orders'?", 17),
        ("year > 2020", "'year' is a function; call it like year(date) at column 1", 0),
        ("orders > ?", "parameters ('?', '$1') are not allowed in a filter at column 10", 9),
        ("current_date > last_order_at", "the current date is not allowed: features are computed as of the as-of date; use days_since_last_order and similar fields at column 1", 0),
        ("orders::INT[] = [1]", "lists, structs and maps are not allowed in a filter at column 18", 17),
        ("CAST(orders AS BLOB) IS NULL", "type 'BLOB' is not allowed; use one of INTEGER, BIGINT, DOUBLE, DECIMAL, VARCHAR, BOOLEAN, DATE, TIMESTAMP at column 6", 5),
        ("last_order_at > TIMESTAMP '2024-01-01' - INTERVAL 3 fortnight", "unknown time unit 'fortnight' at column 53", 52),
        ("orders IS DISTINCT FROM 1", "null safe neq ('orders IS DISTINCT FROM 1') is not allowed in a filter at column 1", 0),
        ("in_segment(orders)", "in_segment takes one quoted segment name, e.g. in_segment('Best customers') at column 1", 0),
        ("in_segment('Best')", "in_segment is not available here at column 1", 0),
    ],
)
def test_refused(expr, message, position):
    error = refusal(expr)
    assert str(error) == message
    assert error.position == position


def test_unknown_name_carries_suggestion():
    error = refusal("ordrs > 1")
    assert error.suggestion == "orders"
    assert refusal("zzz > 1").suggestion is None


def test_unavailable_field_says_what_it_needs():
    error = refusal("orders > 1 AND main_os = 'iOS'")
    assert isinstance(error, FieldUnavailable)
    assert str(error) == "field 'main_os' is unavailable here: needs events"
    assert error.reason == "needs events"
    assert error.position == 15
    assert refusal("mian_os = 'x'").suggestion == "main_os"  # unavailable names are still names


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "empty filter"),
        ("   \n ", "empty filter"),
        ("-- only a comment", "empty filter"),
        ("orders > 1 AND", "incomplete filter: something is missing after 'AND' at column 12"),
        ("orders >", "incomplete filter: something is missing after '>' at column 8"),
        ("(orders > 1", "expected ')' after '1' at column 11"),
        ("orders = 'abc", "unterminated string, quoted name or comment at column 10"),
        ("orders > 1 /* open", "unterminated string, quoted name or comment at column 12"),
        ("lambda x: x", "unexpected ':' at column 9"),
    ],
)
def test_parse_errors_are_one_clean_line(expr, message):
    assert str(refusal(expr)) == message


@pytest.mark.parametrize(
    ("expr", "message", "position"),
    [
        ("orders + 1", "a filter must be a condition (true/false), but this is BIGINT; compare it, e.g. '... > 0' at column 1", 0),
        ("NULL", "a filter must be a condition (true/false), but this is NULL; compare it, e.g. '... > 0' at column 1", 0),
        ("orders > 1 AND favorite_category > 1", "type error: Cannot compare values of type VARCHAR and type INTEGER_LITERAL at column 16", 15),
        ("favorite_category = 1", "field 'favorite_category' is text and cannot be used as INT32; compare it with a quoted value at column 1", 0),
        ("orders > 1 AND lower(orders) = 'x'", "wrong argument types: lower(BIGINT) at column 16", 15),
        ("orders LIKE 'x%'", "wrong argument types: LIKE(BIGINT, STRING_LITERAL) at column 1", 0),
        ("last_order_at > DATE '2024-13-01'", 'invalid value: date field value out of range: "2024-13-01" at column 22', 21),
        ("orders * 9999999999999 * 99999999999 > 1", "invalid value: Overflow in multiplication of INT64 (9999999999999 * 99999999999)! at column 1", 0),
    ],
)
def test_type_errors_are_refused_before_counting(expr, message, position):
    error = refusal(expr)
    assert str(error) == message
    assert error.position == position


def test_resolver_errors_get_the_call_position():
    def resolve(name: str) -> str:
        raise FilterError(f"unknown segment '{name}'", suggestion="Best customers")

    error = refusal("orders > 1 AND in_segment('Best customer')", resolve_segment=resolve)
    assert str(error) == "unknown segment 'Best customer' at column 16; did you mean 'Best customers'?"
    assert error.position == 15


def test_referenced_columns():
    assert referenced_columns("Orders > 1 AND lower(favorite_category) = 'x' OR main_os IS NULL") == {
        "orders",
        "favorite_category",
        "main_os",
    }
    assert referenced_columns("") == set()


def test_autocomplete_tables_are_documented():
    assert "in_segment" in FUNCTIONS and all(desc.startswith(name) for name, desc in FUNCTIONS.items())
    assert {"AND", "IN", "BETWEEN", "LIKE", "IS NULL"} <= set(OPERATORS)
    for name in FUNCTIONS:  # every documented function is actually accepted
        if name != "in_segment":
            with pytest.raises(FilterError) as caught:
                compile_filter(f"{name}", COLUMNS)
            assert "is a function" in str(caught.value)


# --------------------------------------------------------------------------------------------
# properties: nothing but FilterError escapes, and what is accepted runs and reads no table

VOCABULARY = [
    *COLUMNS, "main_os", "ordrs", "x.orders", "t", "customer_features",
    *FUNCTIONS, "sum", "count", "read_csv", "now", "row_number", "over", "foo",
    "AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "ILIKE", "IS", "NULL", "TRUE", "FALSE", "CASE",
    "WHEN", "THEN", "ELSE", "END", "CAST", "AS", "INTEGER", "VARCHAR", "DATE", "TIMESTAMP",
    "INTERVAL", "DAY", "month", "'day'", "=", "!=", "<>", "<", "<=", ">", ">=", "+", "-", "*",
    "/", "%", "(", ")", ",", "::", "0", "1", "-1", "2.5", "1e308", "9223372036854775807",
    "'shoes'", "'2024-01-01'", "'x%'", "''", "'Best'",
    # hostile
    ";", "SELECT", "FROM", "DROP", "TABLE", "ATTACH", "COPY", "PRAGMA", "INSTALL", "LOAD", "SET",
    "EXISTS", "UNION", "WITH", "'", '"', "--", "/*", "*/", "$1", "?", "[", "]", "{", "}", ".",
    "\\", "\n", "||", "->", "~", "@", "#", "`", "x", "lambda", "\x00",
]  # fmt: skip

SEGMENTS = {"best": '"orders" > 4', "bad": "BROKEN"}


def resolve(name: str) -> str:
    if name.lower() in SEGMENTS and name.lower() != "bad":
        return SEGMENTS[name.lower()]
    raise FilterError(f"unknown segment '{name}'")


def check_safely(con, expr: str) -> None:
    try:
        sql = compile_filter(expr, COLUMNS, UNAVAILABLE, resolve)
    except FilterError as error:
        assert "\n" not in str(error)
        return
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert not list(tree.find_all(exp.Table, exp.Select, exp.Subquery, exp.Command, exp.Star))
    con.execute(f"SELECT count(*) FROM customer_features WHERE {sql}").fetchone()


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_random_text_only_ever_raises_filter_error(con, expr):
    check_safely(con, expr)


@settings(derandomize=True, max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=12))
def test_random_token_sequences_only_ever_raise_filter_error(con, tokens):
    check_safely(con, " ".join(tokens))


comparable = st.sampled_from(["orders", "total_spent", "days_since_last_order", "preferred_hour", "overdue_ratio"])
number = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(-1e6, 1e6, allow_nan=False).map(repr))
arithmetic = st.recursive(
    st.one_of(comparable, number),
    lambda inner: st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%"]), inner).map(lambda t: f"({' '.join(t)})"),
    max_leaves=5,
)
condition = st.recursive(
    st.one_of(
        st.tuples(arithmetic, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), arithmetic).map(" ".join),
        st.just("has_abandoned_cart"),
        st.sampled_from(["shoes", "Shoes", "sh%"]).map(lambda s: f"favorite_category ILIKE '{s}'"),
        comparable.map(lambda c: f"{c} IS NULL"),
        st.just("in_segment('best')"),
    ),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(lambda t: f"({' '.join(t)})"),
        inner.map(lambda c: f"NOT {c}"),
    ),
    max_leaves=6,
)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(condition, st.integers(0, 40), st.sampled_from(VOCABULARY))
def test_grammatical_filters_with_one_foreign_token_are_safe(con, expr, where, token):
    """Near-misses probe the whitelist harder than random soup: splice one token into a filter."""
    words = expr.split(" ")
    words.insert(where % (len(words) + 1), token)
    check_safely(con, " ".join(words))


@settings(derandomize=True, max_examples=200, deadline=None)
@given(condition)
def test_grammatical_filters_compile_and_run(con, expr):
    """Well-formed filters over numbers are accepted (barring overflow) and always execute."""
    try:
        sql = compile_filter(expr, COLUMNS, UNAVAILABLE, resolve)
    except FilterError as error:
        assert "Overflow" in str(error) or "out of range" in str(error), str(error)
        return
    con.execute(f"SELECT count(*) FROM customer_features WHERE {sql}").fetchone()
