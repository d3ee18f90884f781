"""Shopify's orders export, read without a mapping file.

tests/data/shopify/orders_export.csv is a hand-made export with Shopify's full header (12 rows,
8 orders). What it holds, and what the tests below expect of it, worked out by hand:

    #1001  Ann@Example.com   2025-10-07 09:50:26 +0200  2 lines  total 52.00  discount 5.00
    #1002  bo@example.com    2025-10-07 23:50:26 -0500  1 line   total 25.00  (UTC: the 8th)
    #1003   ann@example.com  2025-11-20 14:05:00 +0100  3 lines  total 51.90  refunded 25.00
    #1004  cy@example.com    2025-11-21 08:00:00 +0000  1 line   total 40.00  CANCELLED
    #1005  (no email)        2025-11-22 12:00:00 +0100  1 line   total 25.00
    #1006  CY@EXAMPLE.COM    2025-12-01 18:30:00 -0800  2 lines  total 20.70  discount 2.30 (UTC: the 2nd)
    #1007  dee@example.com   2025-12-24 23:59:59 +0100  1 line   total 50.00  (a multi-line note)
    #1008  bo@example.com    2026-01-02 10:15:00 -0500  1 line   total  9.00

The lines after an order's first row leave its order fields blank (#1001), or repeat Email and
Created at only (#1003, #1006), as exports do. So: 7 orders (8 names, one cancelled), 6 of
them with a customer, 11 order lines, 4 customers, 1 returned order; the default as-of date
is the latest order's, 2026-01-02.

    customer         orders  total_spent  first order           last order            discounted
    ann@example.com  2       103.90       2025-10-07 09:50:26   2025-11-20 14:05:00   1 of 2
    bo@example.com   2        34.00       2025-10-07 23:50:26   2026-01-02 10:15:00   0
    cy@example.com   1        20.70       2025-12-01 18:30:00   (same)                1 of 1
    dee@example.com  1        50.00       2025-12-24 23:59:59   (same)                0
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from conftest import assert_one_line_error, make_csv_folder, run_cli, tree_digest

from segtui.core.cache import source_fingerprint
from segtui.core.check import check_shop
from segtui.core.source import open_source
from segtui.core.workspace import open_workspace
from segtui.errors import SourceError

EXPORT = Path(__file__).parent / "data" / "shopify" / "orders_export.csv"

BY_HAND = {  # customer: (orders, total_spent, first_order_at, last_order_at, discount_share, returned_orders)
    "ann@example.com": (2, 103.90, "2025-10-07 09:50:26", "2025-11-20 14:05:00", 0.5, 1),
    "bo@example.com": (2, 34.00, "2025-10-07 23:50:26", "2026-01-02 10:15:00", 0.0, 0),
    "cy@example.com": (1, 20.70, "2025-12-01 18:30:00", "2025-12-01 18:30:00", 1.0, 0),
    "dee@example.com": (1, 50.00, "2025-12-24 23:59:59", "2025-12-24 23:59:59", 0.0, 0),
}
CHECK_LINE = "orders: 7 from 12 rows (first row of each Name); 1 cancelled left out; 1 order without Email (no customer)"


@pytest.fixture
def shop():
    opened = open_source(EXPORT)
    yield opened
    opened.close()


def rows(shop, sql: str) -> list[tuple]:
    return shop.con.execute(sql).fetchall()


def export_rows() -> tuple[list[str], list[list[str]]]:
    with EXPORT.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, list(reader)


def write_csv(path: Path, header: list[str], body: list[list[str]]) -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def small_export(path: Path, header: str, *lines: str) -> Path:
    """A made-up export with only some of Shopify's columns (each a CSV line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


# -- reading -----------------------------------------------------------------------------------


def test_a_csv_with_shopifys_header_is_read_as_an_export_whatever_its_name(tmp_path):
    renamed = tmp_path / "my shop, october.csv"
    shutil.copy(EXPORT, renamed)
    shop = open_source(renamed)
    assert shop.known_export is not None and shop.known_export.kind == "Shopify orders export"
    assert shop.table_names == {"orders", "order_items", "customers", "returns"}
    assert shop.mapping_file is None
    shop.close()


def test_orders_are_the_first_row_of_each_name_not_every_line(shop):
    """12 rows, 8 names: a plain reading of the file would count 12 orders and sum every
    row's Total (the blank ones as nothing, the repeated ones twice)."""
    assert rows(shop, "SELECT count(*), count(DISTINCT order_id), round(sum(total), 2) FROM orders") == [(7, 7, 233.6)]
    assert rows(shop, "SELECT total, discount, channel, payment_method FROM orders WHERE order_id = '#1001'") == [
        (52.0, 5.0, "web", "Shopify Payments"),
    ]
    assert rows(shop, "SELECT order_id FROM orders WHERE order_id = '#1006'") == [("#1006",)]  # its repeated fields: one order


def test_order_lines_come_from_every_row(shop):
    lines = rows(shop, "SELECT order_id, product_id, quantity, price FROM order_items ORDER BY order_id, product_id")
    assert len(lines) == 11
    assert [line for line in lines if line[0] == "#1001"] == [
        ("#1001", "Canvas Tote Bag", 1.0, 20.0),  # no sku: the Lineitem name is the product
        ("#1001", "FERN-1", 2.0, 16.0),
    ]
    assert [line[1] for line in lines if line[0] == "#1003"] == ["FERN-1", "MUG-1", "STICK-1"]


def test_cancelled_orders_are_left_out_with_their_lines_refund_and_details(shop):
    for table in ("orders", "order_items", "returns"):
        assert rows(shop, f"SELECT count(*) FROM {table} WHERE order_id = '#1004'") == [(0,)]
    # Cy's cancelled order said Oakland and no marketing; the kept one says otherwise
    assert rows(shop, "SELECT city, email_opt_in FROM customers WHERE customer_id = 'cy@example.com'") == [
        ("San Francisco", True),
    ]


def test_an_order_without_email_is_kept_without_a_customer(shop):
    assert rows(shop, "SELECT customer_id, total FROM orders WHERE order_id = '#1005'") == [(None, 25.0)]
    assert rows(shop, "SELECT count(*) FROM customers WHERE customer_id IS NULL") == [(0,)]


def test_customers_are_emails_trimmed_and_in_lower_case(shop):
    assert [r[0] for r in rows(shop, "SELECT customer_id FROM customers ORDER BY 1")] == sorted(BY_HAND)
    assert rows(shop, "SELECT customer_id, count(*) FROM orders GROUP BY 1 ORDER BY 1 NULLS LAST") == [
        ("ann@example.com", 2), ("bo@example.com", 2), ("cy@example.com", 1), ("dee@example.com", 1), (None, 1),
    ]


def test_created_at_counts_on_the_date_written_not_in_utc(shop):
    """23:50 at -0500 is 04:50 the next day in UTC; the shop's day is the day written."""
    stamps = dict(rows(shop, "SELECT order_id, ordered_at FROM orders"))
    assert stamps["#1002"] == datetime(2025, 10, 7, 23, 50, 26)
    assert stamps["#1006"] == datetime(2025, 12, 1, 18, 30)
    assert stamps["#1001"] == datetime(2025, 10, 7, 9, 50, 26)


def test_customer_fields_come_from_their_latest_order(shop):
    found = {r[0]: r[1:] for r in rows(
        shop, "SELECT customer_id, email, first_name, last_name, phone, city, country, email_opt_in FROM customers")}
    assert found == {
        # Ann moved from Berlin to Hamburg and said no to marketing on her latest order
        "ann@example.com": ("ann@example.com", "Ann", "Example", "+49 40 7654321", "Hamburg", "DE", False),
        # no Billing Phone on Bo's orders: the order's Phone
        "bo@example.com": ("bo@example.com", "Bo", "Placeholder", "+1 416 555 0100", "Toronto", "CA", True),
        "cy@example.com": ("cy@example.com", "Cy", None, "+1 415 555 0123", "San Francisco", "US", True),
        "dee@example.com": ("dee@example.com", "Dee", "van der Berg", "+31 20 555 0101", "Amsterdam", "NL", True),
    }


def test_refunded_amount_is_a_return(shop):
    assert rows(shop, "SELECT order_id, amount, returned_at FROM returns") == [("#1003", 25.0, None)]


def test_features_match_the_counts_worked_out_by_hand():
    ws = open_workspace(EXPORT, use_cache=False)
    try:
        assert str(ws.as_of) == "2026-01-02"
        got = {r[0]: r[1:] for r in ws.con.execute(
            "SELECT customer_id, orders, round(total_spent, 2), CAST(first_order_at AS VARCHAR), "
            "CAST(last_order_at AS VARCHAR), discount_share, returned_orders FROM customer_features").fetchall()}
        assert got == BY_HAND
        assert ws.total() == 4
        assert ws.count("orders >= 2") == 2
        assert ws.count("days_since_last_order = 0") == 1  # Bo, on the as-of day
        assert ws.count("main_channel = 'shopify_draft_order'") == 1  # Dee's, from Source
        assert ws.count("main_payment_method = 'PayPal Express Checkout'") == 1  # Cy's; the cancelled order is not counted
        assert ws.count("email_opt_in") == 3
        assert ws.count("country = 'DE' AND city = 'Hamburg'") == 1
    finally:
        ws.close()


# -- a folder of split exports -----------------------------------------------------------------


def split_folder(folder: Path, cut: int) -> Path:
    """The export as Shopify sends a large one: orders_export_1.csv, orders_export_2.csv..."""
    header, body = export_rows()
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "orders_export_1.csv", header, body[:cut])
    write_csv(folder / "orders_export_2.csv", header, body[cut:])
    return folder


@pytest.mark.parametrize("cut", [7, 4], ids=["between orders", "inside an order"])
def test_a_folder_of_orders_export_files_is_one_shop(tmp_path, shop, cut):
    """Rows 1-7 are #1001-#1004 and row 4 is #1003's second line: an order whose lines go on in
    the next file is still one order."""
    folder = split_folder(tmp_path / "export", cut)
    before = tree_digest(folder)
    split = open_source(folder)
    assert split.known_export is not None and len(split.known_export.files) == 2
    for table in ("orders", "order_items", "customers", "returns"):
        query = f"SELECT * FROM {table} ORDER BY ALL"
        assert rows(split, query) == rows(shop, query), table
    assert split.known_export.notes()[0] == CHECK_LINE
    split.close()
    assert tree_digest(folder) == before


def test_split_files_are_read_in_numeric_order(tmp_path):
    """orders_export_10.csv comes after orders_export_9.csv: the first row of an order that
    spans them is in _9."""
    header = "Name,Email,Created at,Total,Lineitem quantity,Lineitem name"
    folder = tmp_path / "export"
    small_export(folder / "orders_export_9.csv", header, "#1,a@example.com,2026-01-01 10:00:00 +0000,30.00,1,Hat")
    small_export(folder / "orders_export_10.csv", header, "#1,,,,2,Scarf")
    shop = open_source(folder)
    assert rows(shop, "SELECT customer_id, total FROM orders") == [("a@example.com", 30.0)]
    assert rows(shop, "SELECT count(*) FROM order_items") == [(2,)]


def test_other_tables_in_the_folder_are_read_beside_the_export(tmp_path):
    folder = split_folder(tmp_path / "export", 7)
    (folder / "events.csv").write_text("customer_id,occurred_at,type\nann@example.com,2026-01-01 12:00,page_view\n")
    shop = open_source(folder)
    assert shop.table_names == {"orders", "order_items", "customers", "returns", "events"}


def test_a_file_named_like_an_export_but_not_one_is_refused(tmp_path):
    folder = split_folder(tmp_path / "export", 7)
    (folder / "orders_export_3.csv").write_text("order,amount\n1,2\n")
    with pytest.raises(SourceError, match="orders_export_3.csv in .* is named like a Shopify orders export"):
        open_source(folder)
    assert_one_line_error(run_cli("check", str(folder)), 1, "has no column Name, Email, Created at")


def test_an_orders_table_beside_the_export_is_refused(tmp_path):
    folder = split_folder(tmp_path / "export", 7)
    (folder / "orders.csv").write_text("customer_id,ordered_at,total\n1,2026-01-01,3\n")
    with pytest.raises(SourceError, match="holds both orders.csv and a Shopify orders export"):
        open_source(folder)


def test_other_csv_files_are_not_taken_for_an_export(tmp_path):
    folder = make_csv_folder(tmp_path / "shop", {"orders.csv": "customer_id,ordered_at,total\n1,2026-01-01,3\n"})
    shop = open_source(folder)
    assert shop.known_export is None
    assert rows(shop, "SELECT count(*) FROM orders") == [(1,)]


# -- a smaller export ----------------------------------------------------------------------------


def test_an_export_without_some_columns_leaves_their_features_unavailable(tmp_path):
    path = small_export(tmp_path / "orders_export.csv", "Name,Email,Created at,Total,Lineitem quantity,Lineitem name",
                        "#1,a@example.com,2026-01-01 10:00:00 +0100,30.00,1,Hat",
                        "#1,,,,1,Scarf",
                        "#2,b@example.com,2026-01-02 11:00:00 +0100,12.50,1,Hat")
    shop = open_source(path)
    assert shop.table_names == {"orders", "order_items", "customers"}  # no Refunded Amount: no returns
    assert shop.present_columns["orders"] == {"order_id", "customer_id", "ordered_at", "total"}
    assert shop.present_columns["customers"] == {"customer_id", "email"}
    report = check_shop(shop)
    assert report.usable and report.customers == 2
    assert "discount_share" in report.features_unavailable and "return_rate" in report.features_unavailable
    assert "returns: none read (the export has no Refunded Amount column)" in report.notes


def test_unreadable_values_are_reported_by_check_with_the_value(tmp_path):
    path = small_export(
        tmp_path / "orders_export.csv", "Name,Email,Created at,Total,Accepts Marketing,Lineitem quantity,Lineitem name",
        "#1,a@example.com,yesterday,30.00,yes,1,Hat",
        "#2,b@example.com,2026-01-02 11:00:00 +0100,n/a,maybe,1,Hat",
        "#3,c@example.com,2026-01-03 11:00:00 +0100,5.00,no,1,Hat",
    )
    found = {(p.table, p.problem): (p.count, p.example) for p in check_shop(open_source(path)).problems}
    assert found[("orders", "unparseable ordered_at")] == (1, "yesterday")
    assert found[("orders", "non-numeric total")] == (1, "n/a")
    assert found[("customers", "email_opt_in not true/false")] == (1, "maybe")


def test_rows_without_a_name_are_counted(tmp_path):
    path = small_export(tmp_path / "orders_export.csv", "Name,Email,Created at,Total,Lineitem quantity,Lineitem name",
                        "#1,a@example.com,2026-01-01 10:00:00 +0100,30.00,1,Hat",
                        ",b@example.com,2026-01-02 10:00:00 +0100,9.00,1,Hat")
    notes = check_shop(open_source(path)).notes
    assert notes[0] == "orders: 1 from 2 rows (first row of each Name); 1 row without a Name left out"


def test_more_than_one_currency_is_pointed_out(tmp_path):
    path = small_export(tmp_path / "orders_export.csv", "Name,Email,Created at,Total,Currency,Lineitem quantity,Lineitem name",
                        "#1,a@example.com,2026-01-01 10:00:00 +0100,30.00,EUR,1,Hat",
                        "#2,a@example.com,2026-01-02 10:00:00 +0100,9.00,USD,1,Hat")
    notes = check_shop(open_source(path)).notes
    assert "currencies: EUR, USD; totals are summed as written, not converted" in notes


def test_the_cache_key_covers_the_sql_that_reads_the_export(shop):
    assert source_fingerprint(shop)["reader"] == shop.known_export.fingerprint()


# -- the command line ---------------------------------------------------------------------------


def test_check_says_it_is_a_shopify_export_and_what_it_took_from_where(tmp_path):
    copy = tmp_path / "orders_export.csv"
    shutil.copy(EXPORT, copy)
    before = tree_digest(tmp_path)
    result = run_cli("check", str(copy))
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for part in ("Read as a Shopify orders export:", CHECK_LINE,
                 "UTC offsets +0100, +0200, -0500, -0800 not applied",
                 "customers: 4 by Email (trimmed, lower case)",
                 "returns: 1 order with a Refunded Amount",
                 "usable: 6 orders from 4 customers"):
        assert part in text, part
    data = json.loads(run_cli("check", str(copy), "--json").stdout)
    assert data["source_format"] == "Shopify orders export"
    assert data["notes"][0] == CHECK_LINE
    assert {"table": "orders", "problem": "NULL customer_id", "count": 1, "example": "NULL"} in data["problems"]
    assert tree_digest(tmp_path) == before


def test_check_json_of_other_shops_has_no_export_keys(tmp_path):
    folder = make_csv_folder(tmp_path / "shop", {"orders.csv": "customer_id,ordered_at,total\n1,2026-01-01,3\n"})
    data = json.loads(run_cli("check", str(folder), "--json").stdout)
    assert "source_format" not in data and "notes" not in data


def test_count_and_segments_on_an_export(tmp_path):
    folder = split_folder(tmp_path / "export", 7)
    count = run_cli("count", str(folder), "--where", "orders >= 2")
    assert count.returncode == 0, count.stderr
    assert count.stdout.strip() == "2"
    segments = run_cli("segments", str(EXPORT), "--json")
    assert segments.returncode == 0, segments.stderr
    by_name = {s["name"]: s for s in json.loads(segments.stdout)}
    # one order, more than 30 days before 2026-01-02: Cy (2025-12-01); Dee's was 9 days before
    assert by_name["One-time buyers"]["count"] == 1
    assert not by_name["Email unengaged"]["available"]  # needs events


async def test_the_explorer_opens_an_export():
    from rich.console import Console
    from tui_fixtures import make_app, wait_ready

    from segtui.tui.widgets.top_bar import TopBar

    app = make_app(EXPORT, as_of=None)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        console = Console(width=120, record=True, file=io.StringIO(), color_system=None)
        console.print(app.query_one(TopBar).content)
        header = console.export_text()
        assert "orders_export.csv" in header and "as of 2026-01-02" in header and "4 customers" in header


def test_an_export_written_with_decimal_commas_reads_the_same_amounts(tmp_path):
    """A shop in a decimal-comma country exports '30,00': every amount reads as written in the
    dot export (the money reader reaches the export's columns too)."""
    import csv
    import io

    from segtui.core.workspace import open_workspace

    rows = list(csv.reader(io.StringIO(EXPORT.read_text(encoding="utf-8"))))
    header = rows[0]
    money = [header.index(c) for c in ("Subtotal", "Total", "Discount Amount", "Lineitem price", "Refunded Amount")
             if c in header]
    for row in rows[1:]:
        for i in money:
            row[i] = row[i].replace(".", ",")
    comma = tmp_path / "orders_export.csv"
    with comma.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)

    def spend(path):
        ws = open_workspace(path, use_cache=False)
        try:
            return ws.con.execute("SELECT customer_id, total_spent, orders FROM customer_features ORDER BY 1").fetchall()
        finally:
            ws.close()

    assert spend(comma) == spend(EXPORT)
    assert any(total > 0 for _, total, _ in spend(comma))
