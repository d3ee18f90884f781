"""One customer's story (segtui.core.customer, `segtui customer`) on a hand-made shop.

The shop, as of 2026-03-15:
  customer 10: orders 1 (01-05, 20.00), 2 (02-04, 30.00, two lines, returned 02-10), 3 (03-01,
               40.00); a product view on 03-10, a complaint on 03-02. Order 6 (04-01) and a cart
               add on 03-20 are after the as-of date.
  customer 11: order 4 (03-01, 15.50). customer 12: order 5 (01-10, 100.00). customer 13: one
               page view, no orders.
So customer 10 has 3 orders and 90.00 spent; over the four customers orders are 3, 1, 1, 0
(median 1) and spend 90, 15.5, 100, 0 (median 52.75). Their timeline, newest first: the view,
the complaint, order 3, the return of order 2, order 2, order 1 (six moments).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segtui.core.customer import CustomerNotFound
from segtui.core.workspace import open_workspace
from conftest import assert_one_line_error, make_duckdb, run_cli

AS_OF = "2026-03-15"

TABLES = {
    "orders": """SELECT * FROM (VALUES
        (1, 10, TIMESTAMP '2026-01-05 10:00:00', 20.0, NULL, 'web'),
        (2, 10, TIMESTAMP '2026-02-04 12:30:00', 30.0, 5.0, 'app'),
        (3, 10, TIMESTAMP '2026-03-01 09:00:00', 40.0, NULL, 'web'),
        (4, 11, TIMESTAMP '2026-03-01 09:00:00', 15.5, NULL, 'web'),
        (5, 12, TIMESTAMP '2026-01-10 08:00:00', 100.0, NULL, 'web'),
        (6, 10, TIMESTAMP '2026-04-01 09:00:00', 50.0, NULL, 'web')
    ) AS t(order_id, customer_id, ordered_at, total, discount, channel)""",
    "order_items": """SELECT * FROM (VALUES (2, 7, 1, 20.0), (2, 8, 2, 5.0), (3, 7, 1, 40.0))
        AS t(order_id, product_id, quantity, price)""",
    "products": "SELECT * FROM (VALUES (7, 'Shoes'), (8, 'Socks')) AS t(product_id, category)",
    "events": """SELECT * FROM (VALUES
        (10, TIMESTAMP '2026-03-10 20:00:00', 'product_view', 7),
        (10, TIMESTAMP '2026-03-20 20:00:00', 'cart_add', 7),
        (13, TIMESTAMP '2026-03-01 11:00:00', 'page_view', NULL)
    ) AS t(customer_id, occurred_at, type, product_id)""",
    "returns": """SELECT * FROM (VALUES (2, TIMESTAMP '2026-02-10 09:00:00', 10.0, 'too small'))
        AS t(order_id, returned_at, amount, reason)""",
    "reviews": """SELECT * FROM (VALUES (10, TIMESTAMP '2026-03-02 18:00:00', 2.0, 'complaint'))
        AS t(customer_id, created_at, rating, kind)""",
}

SEGMENTS = {
    "three_orders.sql": "-- name: Three orders\n-- group: Test\norders >= 3\n",
    "big_and_frequent.sql": "-- name: Big and frequent\n-- group: Test\norders >= 3 AND total_spent >= 100\n",
    "far_off.sql": "-- name: Far off\n-- group: Test\norders >= 5 AND total_spent >= 100\n",
    "near_spender.sql": "-- name: Near spender\n-- group: Test\norders >= 3 AND total_spent >= 95\n",
    "far_spender.sql": "-- name: Far spender\n-- group: Test\norders >= 3 AND total_spent >= 1000\n",
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("customer")
    segments = folder / "segments"
    segments.mkdir()
    for name, text in SEGMENTS.items():
        (segments / name).write_text(text, encoding="utf-8")
    return make_duckdb(folder / "shop.duckdb", TABLES), segments


@pytest.fixture(scope="module")
def ws(shop):
    from datetime import date

    workspace = open_workspace(shop[0], date.fromisoformat(AS_OF), segments_dir=shop[1], use_cache=False)
    yield workspace
    workspace.close()


def test_the_timeline_is_newest_first_and_stops_at_the_as_of_date(ws):
    story = ws.customer(ws.con, "10")
    assert [(m.kind, m.ref) for m in story.timeline] == [
        ("event", "product_view"), ("review", "complaint"), ("order", "3"), ("return", "2"), ("order", "2"), ("order", "1"),
    ]
    assert story.timeline_total == 6
    assert story.timeline[3].amount == 10.0 and story.timeline[3].note == "too small"
    assert story.timeline[1].amount == 2.0  # the rating


def test_an_order_comes_with_its_lines_and_their_categories(ws):
    order2 = next(m for m in ws.customer(ws.con, "10").timeline if m.ref == "2" and m.kind == "order")
    assert [(line.product, line.quantity, line.price, line.category) for line in order2.lines] == [
        ("7", 1.0, 20.0, "Shoes"), ("8", 2.0, 5.0, "Socks"),
    ]
    assert order2.amount == 30.0 and "app" in order2.note and "discount 5.00" in order2.note


def test_the_timeline_pages(ws):
    story = ws.customer(ws.con, "10", offset=1, limit=2)
    assert [(m.kind, m.ref) for m in story.timeline] == [("review", "complaint"), ("order", "3")]
    assert story.timeline_total == 6 and story.offset == 1


def test_key_features_stand_beside_the_shops_median(ws):
    key = {k.name: k for k in ws.customer(ws.con, "10").key}
    assert key["orders"].value == 3 and key["orders"].median == 1.0
    assert key["total_spent"].value == pytest.approx(90.0) and key["total_spent"].median == pytest.approx(52.75)
    assert key["orders"].unit == "orders"


def test_segments_and_the_one_condition_missed(ws):
    story = ws.customer(ws.con, "10")
    assert "Three orders" in story.segments
    assert "Big and frequent" not in story.segments
    near = {n.segment: n.missed for n in story.near}
    assert near.get("Big and frequent") == "total_spent >= 100"
    assert "Far off" not in near  # two conditions missed: not near


def test_near_segments_come_closest_first(ws):
    # 90 spent: 95 is missed by 5%, 100 by 10%, 1000 by ten times
    order = [n.segment for n in ws.customer(ws.con, "10").near]
    assert order.index("Near spender") < order.index("Big and frequent") < order.index("Far spender")


def test_an_event_only_customer_has_a_story(ws):
    story = ws.customer(ws.con, "13")
    assert [(m.kind, m.ref) for m in story.timeline] == [("event", "page_view")]
    assert {k.name: k.value for k in story.key}["orders"] == 0


@pytest.mark.parametrize("ident", ["99", "abc", ""])
def test_an_unknown_customer_is_a_clear_error(ws, ident):
    with pytest.raises(CustomerNotFound, match=f"no customer {ident}"):
        ws.customer(ws.con, ident)


def test_a_shop_of_orders_alone(tmp_path):
    from conftest import TINY_ORDERS

    db = make_duckdb(tmp_path / "orders.duckdb", {"orders": TINY_ORDERS})
    workspace = open_workspace(db, use_cache=False)
    try:
        story = workspace.customer(workspace.con, "10")
    finally:
        workspace.close()
    assert [(m.kind, m.ref, m.lines) for m in story.timeline] == [("order", "2", ()), ("order", "1", ())]
    assert story.contacts == {}


def test_cli_json_shape(shop):
    result = run_cli("customer", str(shop[0]), "10", "--as-of", AS_OF, "--segments", str(shop[1]), "--json",
                     "--limit", "3")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"customer_id", "as_of", "contacts", "key_features", "features", "segments",
                         "near_segments", "timeline", "timeline_total", "timeline_offset"}
    assert data["customer_id"] == 10 and data["as_of"] == AS_OF
    assert data["timeline_total"] == 6 and len(data["timeline"]) == 3
    assert data["timeline"][0] == {"at": "2026-03-10T20:00:00", "kind": "event", "ref": "product_view",
                                   "amount": None, "note": "product 7", "lines": []}
    assert {"segment": "Big and frequent", "missed": "total_spent >= 100"} in data["near_segments"]
    assert data["features"]["orders"] == 3
    assert {"name": "orders", "value": 3, "median": 1.0, "unit": "orders"} in data["key_features"]


def test_cli_text_and_errors(shop):
    result = run_cli("customer", str(shop[0]), "10", "--as-of", AS_OF, "--segments", str(shop[1]))
    assert result.returncode == 0, result.stderr
    assert "Customer 10" in result.stdout and "Timeline, newest first (1–6 of 6)" in result.stdout
    near = next(line for line in result.stdout.splitlines() if line.startswith("Nearly in: "))
    assert near.count("(misses ") == 5 and near.endswith("more (--json)")  # built-ins are near too
    missing = run_cli("customer", str(shop[0]), "99", "--as-of", AS_OF)
    assert_one_line_error(missing, 1, "no customer 99")


def test_contacts_come_from_the_customers_table_when_the_shop_has_them():
    shop = Path(__file__).parent / "data" / "shopify" / "orders_export.csv"
    workspace = open_workspace(shop, use_cache=False)
    try:
        story = workspace.customer(workspace.con, "ann@example.com")
    finally:
        workspace.close()
    assert story.contacts == {"email": "ann@example.com", "first_name": "Ann", "last_name": "Example",
                              "phone": "+49 40 7654321"}
    assert story.to_json()["contacts"]["first_name"] == "Ann"
