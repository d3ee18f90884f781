"""`segtui check`: tables, coverage, feature families and each data problem with its count."""

from __future__ import annotations

import json

import pytest

from conftest import assert_one_line_error, make_csv_folder, make_duckdb, run_cli, tree_digest, TINY_ORDERS
from segtui.core.check import check_shop
from segtui.core.source import open_source

PROBLEM_ORDERS = """order_id,customer_id,ordered_at,total
1,10,2026-01-01 10:00:00,20
2,,2026-01-02 10:00:00,5
3,11,2026-01-03 10:00:00,-7.5
4,12,2026-01-04 10:00:00,
5,13,2030-05-01 10:00:00,9
5,13,2026-01-05 10:00:00,9
6,14,yesterday,3
7,15,2026-01-06 10:00:00,oops
,16,2026-01-07 10:00:00,4
"""
PROBLEM_EVENTS = """customer_id,occurred_at,type
10,2026-01-01 09:00:00,page_view
10,2026-01-01 09:05:00,wishlist
16,2026-01-02 09:00:00,wishlist
16,2026-01-02 09:01:00,cart_add
"""


def problem_shop(tmp_path):
    return make_csv_folder(tmp_path / "shop", {"orders.csv": PROBLEM_ORDERS, "events.csv": PROBLEM_EVENTS})


def problems_of(report):
    return {(p.table, p.problem): (p.count, p.example) for p in report.problems}


def test_each_data_problem_is_counted_with_an_example(tmp_path):
    report = check_shop(open_source(problem_shop(tmp_path)))
    found = problems_of(report)
    assert found[("orders", "NULL customer_id")] == (1, "NULL")
    assert found[("orders", "negative total")] == (1, "-7.5")
    assert found[("orders", "NULL total")] == (1, "NULL")
    assert found[("orders", "non-numeric total")] == (1, "oops")
    assert found[("orders", "ordered_at in the future")] == (1, "2030-05-01 10:00:00")
    assert found[("orders", "duplicate order_id")] == (1, "5")
    assert found[("orders", "unparseable ordered_at")] == (1, "yesterday")
    assert found[("orders", "no order_id (each row counts as one order)")] == (1, "NULL")
    assert found[("events", "events of unknown type")] == (2, "wishlist")
    assert report.usable
    # customers 10..16 and the NULL one excluded: 10, 11, 12, 13, 14, 15 from orders, 16 from events
    assert report.customers == 7
    assert report.orders_from == "2026-01-01 10:00:00"


def test_repeated_keys_and_unreadable_customer_fields_are_reported(tmp_path):
    shop = make_csv_folder(tmp_path / "shop", {
        "orders.csv": "order_id,customer_id,ordered_at,total\n1,10,2026-01-01 10:00:00,20\n",
        "customers.csv": "customer_id,created_at,birth_date,email_opt_in\n10,2025-01-01,1980-02-03,true\n"
                         "10,2025-02-01,soon,maybe\n11,2025-03-01,,false\n",
        "products.csv": "product_id,category\n7,shoes\n7,bags\n8,hats\n8,hats\n",
    })
    found = problems_of(check_shop(open_source(shop)))
    assert found[("customers", "duplicate customer_id (the latest created_at is used)")] == (1, "10")
    assert found[("products", "duplicate product_id (its first category by name is used)")] == (2, "7")
    assert found[("customers", "birth_date not a date")] == (1, "soon")
    assert found[("customers", "email_opt_in not true/false")] == (1, "maybe")


@pytest.mark.parametrize("stamp, what", [
    ("1767225600", "epoch seconds"), ("1767225600000", "epoch milliseconds"), ("20260101", "a YYYYMMDD date"),
])
def test_a_numeric_timestamp_gets_the_mapping_that_reads_it(tmp_path, stamp, what):
    """Following the hint literally makes the shop usable, with the right date."""
    folder = make_csv_folder(tmp_path / "shop", {"orders.csv": f"customer_id,ordered_at,total\n10,{stamp},5\n"})
    report = check_shop(open_source(folder))
    assert not report.usable
    (hint,) = [p.hint for p in report.problems if p.hint]
    assert hint.startswith(f"orders.ordered_at looks like {what}: in segtui.toml, [tables.orders] ")
    line = hint.split("[tables.orders] ", 1)[1]
    (folder / "segtui.toml").write_text(f"[tables.orders]\n{line}\n")
    report = check_shop(open_source(folder))
    assert report.usable and report.orders_from.startswith("2026-01-01")


@pytest.mark.parametrize("types, expr", [
    (["PRODUCT_VIEW", "Cart_Add"], 'type = "lower(type)"'),
    (["Page View", "cart-add"], "type = \"regexp_replace(lower(type), '[ -]', '_', 'g')\""),
])
def test_event_types_in_another_spelling_get_the_mapping_that_reads_them(tmp_path, types, expr):
    events = "customer_id,occurred_at,type\n" + "".join(f"10,2026-01-01 09:0{i},{t}\n" for i, t in enumerate(types))
    folder = make_csv_folder(tmp_path / "shop", {"orders.csv": "customer_id,ordered_at,total\n10,2026-01-01 10:00,5\n",
                                                  "events.csv": events})
    (hint,) = [p.hint for p in check_shop(open_source(folder)).problems if p.hint]
    assert hint.endswith(f"[tables.events] {expr}")
    (folder / "segtui.toml").write_text(f"[tables.events]\n{hint.split('[tables.events] ', 1)[1]}\n")
    assert check_shop(open_source(folder)).problems == []


@pytest.mark.parametrize("value, expected", [("5,5", 5.5), ("1.234,50", 1234.5), ("$5.50", 5.5), ("5.50 EUR", 5.5)])
def test_money_in_another_notation_is_read_and_a_value_that_is_no_amount_is_reported(tmp_path, value, expected):
    """No mapping needed any more (core.money); 'oops' is NULL, counted, and has no hint to give."""
    folder = make_csv_folder(tmp_path / "shop", {"orders.csv": f'customer_id,ordered_at,total\n10,2026-01-01 10:00,"{value}"\n'
                                                                "11,2026-01-01 10:00,oops\n"})
    shop = open_source(folder)
    report = check_shop(shop)
    assert [(p.problem, p.count, p.example, p.hint) for p in report.problems] == [("non-numeric total", 1, "oops", None)]
    assert report.usable
    assert shop.con.execute("SELECT total FROM orders WHERE customer_id = 10").fetchone()[0] == expected


def test_check_cli_prints_the_hint(tmp_path):
    folder = make_csv_folder(tmp_path / "shop", {"orders.csv": "customer_id,ordered_at,total\n10,1767225600,5\n"})
    result = run_cli("check", str(folder))
    text = " ".join(result.stdout.split())
    hint = 'orders.ordered_at looks like epoch seconds: in segtui.toml, [tables.orders] ordered_at = "to_timestamp(ordered_at)"'
    assert text.count(hint) == 1  # in the verdict, as no row is usable: said once, not again as a hint line
    assert "not usable: no order has a readable ordered_at (orders.ordered_at is column 'ordered_at' in orders.csv" in text
    data = json.loads(run_cli("check", str(folder), "--json").stdout)
    assert data["problems"][0]["hint"].endswith('ordered_at = "to_timestamp(ordered_at)"')


def test_good_data_has_no_problems_and_reports_tables(tiny_duckdb):
    report = check_shop(open_source(tiny_duckdb))
    assert report.problems == []
    assert report.usable
    orders = report.tables[0]
    assert (orders.name, orders.rows, orders.usable) == ("orders", 3, True)
    assert "discount" in orders.missing_optional
    assert report.customers == 2
    assert "events" in report.features_unavailable.get("main_os", "")


def test_check_cli_text_and_exit_code(tmp_path):
    shop = problem_shop(tmp_path)
    before = tree_digest(shop)
    result = run_cli("check", str(shop))
    assert result.returncode == 0, result.stderr
    for text in ("orders", "events of unknown type", "duplicate order_id", "usable"):
        assert text in result.stdout
    assert tree_digest(shop) == before


def test_check_cli_json(tmp_path):
    result = run_cli("check", str(problem_shop(tmp_path)), "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["usable"] is True
    assert {"table": "orders", "problem": "negative total", "count": 1, "example": "-7.5"} in data["problems"]


def test_check_empty_orders_is_not_usable(tmp_path):
    db = make_duckdb(tmp_path / "e.duckdb", {"orders": TINY_ORDERS + " LIMIT 0"})
    result = run_cli("check", str(db))
    assert result.returncode == 1
    assert "not usable: the orders table is empty" in result.stdout


def test_check_missing_source_is_one_line(tmp_path):
    assert_one_line_error(run_cli("check", str(tmp_path / "missing.duckdb")), 1, "no such file or folder")


def test_check_unusable_optional_table_is_reported(tmp_path):
    db = make_duckdb(tmp_path / "s.duckdb", {"orders": TINY_ORDERS, "reviews": "SELECT 4 AS rating"})
    report = check_shop(open_source(db))
    reviews = next(t for t in report.tables if t.name == "reviews")
    assert not reviews.usable and "has no column customer_id" in reviews.problem
