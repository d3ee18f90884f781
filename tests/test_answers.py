"""segtui.core.answers on a hand-made feature table of six customers; every expected value below
was worked out by hand from the table, not read back from the code.

    id  orders  spent  days  category  device   hour  weekday  odd "name"
    1   2       100    10    Shoes     mobile   9     1        a
    2   0       0      NULL  NULL      desktop  NULL  NULL     b
    3   4       300    20    Shoes     mobile   20    6        c
    4   1       50     200   Books     desktop  9     1        d
    5   2       100    30    Books     tablet   14    3        e
    6   0       0      NULL  NULL      mobile   NULL  NULL     f
"""

from __future__ import annotations

import pytest

from conftest import features_table
from segtui.core import answers
from segtui.core.workspace import open_workspace
from segtui.resources import sample_data_dir

COLUMNS = {
    "customer_id": "INTEGER", "orders": "INTEGER", "total_spent": "DOUBLE", "days_since_last_order": "INTEGER",
    "favorite_category": "VARCHAR", "main_device": "VARCHAR", "preferred_hour": "INTEGER",
    "preferred_weekday": "INTEGER", 'odd "name"': "VARCHAR", "nothing": "VARCHAR",
}  # fmt: skip
ROWS = [
    (1, 2, 100.0, 10, "Shoes", "mobile", 9, 1, "a", None),
    (2, 0, 0.0, None, None, "desktop", None, None, "b", None),
    (3, 4, 300.0, 20, "Shoes", "mobile", 20, 6, "c", None),
    (4, 1, 50.0, 200, "Books", "desktop", 9, 1, "d", None),
    (5, 2, 100.0, 30, "Books", "tablet", 14, 3, "e", None),
    (6, 0, 0.0, None, None, "mobile", None, None, "f", None),
]


@pytest.fixture
def con():
    # conftest's helper writes names unquoted-inside-quotes: give it a plain one, then rename
    connection = features_table({("odd" if '"' in n else n): t for n, t in COLUMNS.items()}, ROWS)
    connection.execute('ALTER TABLE customer_features RENAME COLUMN odd TO "odd ""name"""')
    yield connection
    connection.close()


def ids(con, sort, descending=False, sql="TRUE", offset=0, limit=100):
    return [row[0] for row in answers.members_page(con, sql, ["customer_id"], sort, descending, offset, limit)]


def test_column_types_in_table_order(con):
    assert answers.column_types(con) == COLUMNS


def test_members_page_ties_go_to_the_smaller_customer_id_in_both_directions(con):
    assert ids(con, "total_spent", descending=True) == [3, 1, 5, 4, 2, 6]  # 100 ×2 and 0 ×2
    assert ids(con, "total_spent") == [2, 6, 4, 1, 5, 3]


def test_members_page_nulls_last_in_both_directions(con):
    assert ids(con, "days_since_last_order") == [1, 3, 5, 4, 2, 6]
    assert ids(con, "days_since_last_order", descending=True) == [4, 5, 3, 1, 2, 6]


def test_members_page_pages_neither_overlap_nor_skip(con):
    pages = [ids(con, "total_spent", True, offset=offset, limit=2) for offset in (0, 2, 4, 6)]
    assert pages == [[3, 1], [5, 4], [2, 6], []]
    assert ids(con, "total_spent", True, offset=3, limit=2) == [4, 2]


def test_members_page_filters_and_quotes_names(con):
    rows = answers.members_page(con, '"orders" >= 1', ["customer_id", 'odd "name"'], 'odd "name"', True, 0, 10)
    assert rows == [(5, "e"), (4, "d"), (3, "c"), (1, "a")]
    # NULL membership (unknown) is not membership, as in WHERE
    assert ids(con, "customer_id", sql='"days_since_last_order" < 100') == [1, 3, 5]


def test_top_values_most_common_first_ties_in_text_order(con):
    values = answers.top_values(con, ["favorite_category", "main_device", "preferred_hour", "nothing"])
    assert values == {
        "favorite_category": ["Books", "Shoes"],  # 2 each: text order
        "main_device": ["mobile", "desktop", "tablet"],  # 3, 2, 1
        "preferred_hour": ["9", "14", "20"],  # as text; 14 and 20 once each: '14' < '20'
    }  # "nothing" has no value at all: left out
    assert answers.top_values(con, ["main_device", "favorite_category"], limit=1) == {
        "main_device": ["mobile"], "favorite_category": ["Books"]
    }  # fmt: skip
    assert answers.top_values(con, []) == {}


def test_profile_numbers(con):
    p = answers.profile(con, '"orders" >= 2')  # members 1, 3, 5
    assert (p.customers, p.total_customers) == (3, 6) and p.customer_share == 0.5
    assert (p.revenue, p.total_revenue, p.orders, p.total_orders) == (500, 550, 8, 9)
    assert p.revenue_share == 500 / 550 and p.aov == 62.5 and p.all_aov == 550 / 9
    assert p.orders_per_customer == 8 / 3 and p.all_orders_per_customer == 1.5
    assert p.recency == 20 and p.all_recency == 25  # medians of 10, 20, 30 and of 10, 20, 200, 30
    assert p.dists["hour"] == [("9", 1, 2), ("14", 1, 1), ("20", 1, 1)]  # numeric order, not text
    assert p.dists["weekday"] == [("1", 1, 2), ("3", 1, 1), ("6", 1, 1)]
    assert p.dists["category"] == [("Shoes", 2, 2), ("Books", 1, 2)]
    # members' most common first, then everyone's: tablet (1 member) before desktop (0 of 2)
    assert p.dists["device"] == [("mobile", 2, 3), ("tablet", 1, 1), ("desktop", 0, 2)]
    assert p.dist_totals == {"hour": (3, 4), "weekday": (3, 4), "category": (3, 4), "device": (3, 6)}


def test_profile_null_membership_and_missing_columns(con):
    p = answers.profile(con, '"days_since_last_order" < 100', columns={"main_device"})
    assert p.customers == 3 and list(p.dists) == ["device"]
    empty = answers.profile(con, "FALSE")
    assert (empty.customers, empty.revenue, empty.recency, empty.aov) == (0, 0, None, None)
    assert empty.dists["device"] == [("mobile", 0, 3), ("desktop", 0, 2), ("tablet", 0, 1)]


def test_workspace_answers_on_a_worker_cursor():
    """The Workspace methods pass the caller's cursor through: answers from a cursor of the
    workspace equal the ones on its own connection."""
    ws = open_workspace(sample_data_dir(), use_cache=False)
    try:
        cursor = ws.con.cursor()
        sql = ws.compile("orders >= 2")
        assert ws.count("orders >= 2", cursor) == ws.count("orders >= 2") == ws.count_where(sql, cursor) > 0
        assert ws.count_all(cursor) == ws.count_all() and ws.count_all(cursor).total == ws.total()
        assert ws.column_types(cursor) == ws.catalog.columns
        page = ws.members_page(cursor, sql, ["customer_id", "orders"], "orders", True, 0, 5)
        assert len(page) == 5 and all(orders >= 2 for _, orders in page)
        assert ws.profile(cursor, sql).customers == ws.count_where(sql)
        assert "main_device" in ws.top_values(cursor, ["main_device"])
        cursor.close()
    finally:
        ws.close()


def test_a_text_value_in_another_case_is_pointed_out():
    columns = {"customer_id": "BIGINT", "main_os": "VARCHAR", "country": "VARCHAR", "orders": "BIGINT"}
    con = features_table(columns, [(1, "iOS", "DE", 1), (2, "iOS", "de", 2), (3, "Android", "FR", 0), (4, None, None, 0)])
    hints = answers.case_hints(con, "main_os = 'ios' AND country IN ('fr', 'DE') AND orders = 1", columns)
    # 'ios' matches two customers written 'iOS'; 'fr' one written 'FR'; 'DE' exists as written: no hint
    assert sorted(hints) == ["no customer has country 'fr'; 1 have 'FR'", "no customer has main_os 'ios'; 2 have 'iOS'"]
    assert answers.case_hints(con, "main_os = 'iOS'", columns) == []
    assert answers.case_hints(con, "main_os = 'windows'", columns) == []  # in no case at all
