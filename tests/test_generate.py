"""The demo-shop generator: determinism, planted behaviour, integrity, safe writing, sample_data/."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from segtui.core import generate as gen
from segtui.core.generate import (
    GENERATED_END_DATE,
    TABLES,
    archetype_shares,
    export_parquet_folder,
    generate,
    table_checksums,
)
from segtui.errors import GenerateError
from segtui.resources import sample_data_dir

END = datetime.combine(GENERATED_END_DATE, datetime.min.time())  # 2026-06-30 00:00
END_OF_DAY = END + timedelta(days=1)  # nothing may be at or after this instant
SHOP_CUSTOMERS = 2000

EXPECTED_COLUMNS = {
    "orders": ["order_id", "customer_id", "ordered_at", "total", "discount", "channel", "device", "payment_method"],
    "customers": ["customer_id", "created_at", "country", "city", "birth_date", "gender", "email_opt_in",
                  "email", "first_name", "last_name", "phone"],
    "order_items": ["order_id", "product_id", "quantity", "price"],
    "products": ["product_id", "category", "price", "brand"],
    "events": ["customer_id", "occurred_at", "type", "product_id", "device", "os", "session_id"],
    "returns": ["order_id", "returned_at", "amount", "reason"],
    "reviews": ["customer_id", "created_at", "rating", "kind"],
}


def _checksums(path: Path) -> dict[str, tuple[int, int]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return table_checksums(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "shop.duckdb"
    generate(path, customers=SHOP_CUSTOMERS, seed=42)
    return path


@pytest.fixture(scope="module")
def con(shop):
    connection = duckdb.connect(str(shop), read_only=True)
    yield connection
    connection.close()


def scalar(con, sql: str):
    return con.execute(sql).fetchone()[0]


# --- determinism -------------------------------------------------------------------------


def test_same_seed_same_tables_on_any_thread_count_and_block_size(tmp_path, monkeypatch):
    one = generate(tmp_path / "one.duckdb", customers=600, seed=7, threads=1)
    two = generate(tmp_path / "two.duckdb", customers=600, seed=7, threads=2)
    monkeypatch.setattr(gen, "BLOCK_CUSTOMERS", 250)  # three blocks instead of one
    blocks = generate(tmp_path / "blocks.duckdb", customers=600, seed=7, threads=2)
    reference = _checksums(one.path)
    assert reference == _checksums(two.path)
    assert reference == _checksums(blocks.path)
    assert all(count > 0 for count, _ in reference.values())


def test_other_seed_gives_other_tables(tmp_path):
    a = _checksums(generate(tmp_path / "a.duckdb", customers=300, seed=1).path)
    b = _checksums(generate(tmp_path / "b.duckdb", customers=300, seed=2).path)
    for table in TABLES:
        if table != "products":  # the catalogue's size is fixed, its prices are not
            assert a[table] != b[table], table
    assert a["products"][1] != b["products"][1]


# --- shape ---------------------------------------------------------------------------------


def test_tables_have_the_contract_columns(con):
    for table, columns in EXPECTED_COLUMNS.items():
        names = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
        assert names[: len(columns)] == columns, table
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'orders'").fetchall())
    assert types["order_id"] == "BIGINT" and types["customer_id"] == "BIGINT"
    assert types["ordered_at"] == "TIMESTAMP" and types["total"] == "DOUBLE" and types["discount"] == "DOUBLE"


def test_volumes_are_realistic(con):
    assert scalar(con, "SELECT count(*) FROM customers") == SHOP_CUSTOMERS
    assert 8 <= scalar(con, "SELECT count(*) FROM orders") / SHOP_CUSTOMERS <= 12
    assert 25 <= scalar(con, "SELECT count(*) FROM events") / SHOP_CUSTOMERS <= 40
    assert 200 <= scalar(con, "SELECT count(*) FROM products") <= 1000
    assert scalar(con, "SELECT count(DISTINCT category) FROM products") == 10


def test_value_domains(con):
    known_types = {"page_view", "product_view", "cart_add", "checkout_start", "email_open", "email_click", "complaint", "search"}
    assert {r[0] for r in con.execute("SELECT DISTINCT type FROM events").fetchall()} <= known_types
    assert {r[0] for r in con.execute("SELECT DISTINCT device FROM events").fetchall()} == {"desktop", "mobile", "tablet"}
    assert {r[0] for r in con.execute("SELECT DISTINCT os FROM events").fetchall()} == {"iOS", "Android", "Windows", "macOS"}
    assert {r[0] for r in con.execute("SELECT DISTINCT kind FROM reviews").fetchall()} == {"review", "complaint", "nps"}
    assert con.execute("SELECT min(rating), max(rating) FROM reviews").fetchone() == (1, 5)


def test_contact_columns_look_like_a_customer_list(con):
    emails, distinct, reserved, names, phones = con.execute("""
        SELECT count(email), count(DISTINCT email), count_if(regexp_matches(email, '^[a-z.]+\\.[0-9]+@example\\.(com|org)$')),
               count_if(first_name IS NOT NULL AND last_name IS NOT NULL), count(phone)
        FROM customers""").fetchone()
    assert emails == distinct == reserved == names == SHOP_CUSTOMERS
    assert 0.6 < phones / SHOP_CUSTOMERS < 0.8
    assert con.execute("SELECT count_if(NOT regexp_matches(phone, '^\\+[0-9]{2} [0-9]{3} [0-9]{7}$')) FROM customers").fetchone()[0] == 0


def test_no_timestamp_after_the_end_date(con):
    for table, column in [("orders", "ordered_at"), ("events", "occurred_at"), ("returns", "returned_at"),
                          ("reviews", "created_at"), ("customers", "created_at")]:
        assert scalar(con, f"SELECT max({column}) FROM {table}") < END_OF_DAY, table
    # about two years of history, ending on the end date
    first, last = con.execute("SELECT min(ordered_at), max(ordered_at) FROM orders").fetchone()
    assert last.date() == GENERATED_END_DATE
    assert timedelta(days=700) < last - first < timedelta(days=731)


def test_referential_integrity(con):
    orphans = {
        "orders.customer_id": "SELECT count(*) FROM orders WHERE customer_id NOT IN (SELECT customer_id FROM customers)",
        "order_items.order_id": "SELECT count(*) FROM order_items WHERE order_id NOT IN (SELECT order_id FROM orders)",
        "order_items.product_id": "SELECT count(*) FROM order_items WHERE product_id NOT IN (SELECT product_id FROM products)",
        "returns.order_id": "SELECT count(*) FROM returns WHERE order_id NOT IN (SELECT order_id FROM orders)",
        "events.customer_id": "SELECT count(*) FROM events WHERE customer_id NOT IN (SELECT customer_id FROM customers)",
        "events.product_id": "SELECT count(*) FROM events WHERE product_id IS NOT NULL AND product_id NOT IN (SELECT product_id FROM products)",
        "reviews.customer_id": "SELECT count(*) FROM reviews WHERE customer_id NOT IN (SELECT customer_id FROM customers)",
        "orders without items": "SELECT count(*) FROM orders WHERE order_id NOT IN (SELECT order_id FROM order_items)",
    }
    for name, sql in orphans.items():
        assert scalar(con, sql) == 0, name
    assert scalar(con, "SELECT count(*) - count(DISTINCT order_id) FROM orders") == 0
    assert scalar(con, "SELECT count(*) - count(DISTINCT customer_id) FROM customers") == 0


def test_money_adds_up(con):
    # total = items - discount; item prices at most 10 % under the product price
    bad_totals = scalar(con, """
        SELECT count(*) FROM orders o
        JOIN (SELECT order_id, sum(quantity * price) AS items FROM order_items GROUP BY order_id) i USING (order_id)
        WHERE abs(o.total - (i.items - o.discount)) > 0.011 OR o.discount < 0 OR o.total <= 0""")
    assert bad_totals == 0
    bad_prices = scalar(con, """
        SELECT count(*) FROM order_items i JOIN products p USING (product_id)
        WHERE i.price > p.price OR i.price < 0.9 * p.price - 0.01""")
    assert bad_prices == 0
    assert scalar(con, "SELECT count(*) FROM returns r JOIN orders o USING (order_id) WHERE r.amount > o.total OR r.returned_at < o.ordered_at") == 0


def test_basket_values_are_right_skewed_and_seasonal(con):
    mean, median = con.execute("SELECT avg(total), median(total) FROM orders").fetchone()
    assert mean > 1.15 * median  # lognormal-like
    peak, rest = con.execute("""
        SELECT count(*) FILTER (WHERE month(ordered_at) IN (11, 12)) / 122.0,
               count(*) FILTER (WHERE month(ordered_at) NOT IN (11, 12)) / 608.0
        FROM orders""").fetchone()
    assert peak > 1.5 * rest  # orders per day, November-December against the rest


# --- planted archetypes --------------------------------------------------------------------


def test_archetype_shares_match_the_documented_table(con):
    shares = archetype_shares()
    assert abs(sum(shares.values()) - 1) < 1e-9
    observed = dict(con.execute(
        f"SELECT archetype, count(*) / {SHOP_CUSTOMERS} FROM customers GROUP BY archetype").fetchall())
    assert set(observed) == set(shares)
    for name, share in shares.items():
        assert abs(observed[name] - share) < 0.03, (name, observed[name], share)


def test_archetypes_are_documented_in_the_sample_readme():
    readme = (sample_data_dir() / "README.md").read_text(encoding="utf-8")
    for name, share in archetype_shares().items():
        assert f"`{name}`" in readme, name
        assert f"{share:.0%}" in readme, name


def per_customer(con, archetype: str, sql: str) -> list[tuple]:
    """Rows of `sql` (which selects from `c`, the customers of one archetype)."""
    rows = con.execute(f"WITH c AS (SELECT * FROM customers WHERE archetype = '{archetype}') {sql}").fetchall()
    assert rows, archetype
    return rows


def test_window_shoppers_browse_and_never_buy(con):
    rows = per_customer(con, "window_shopper", """
        SELECT (SELECT count(*) FROM orders o WHERE o.customer_id = c.customer_id),
               (SELECT count(*) FROM events e WHERE e.customer_id = c.customer_id) FROM c""")
    assert all(orders == 0 and events > 0 for orders, events in rows)


def test_one_time_buyers_have_exactly_one_order(con):
    rows = per_customer(con, "one_time", "SELECT (SELECT count(*) FROM orders o WHERE o.customer_id = c.customer_id) FROM c")
    assert {n for (n,) in rows} == {1}


def test_holiday_only_orders_are_in_november_and_december(con):
    rows = per_customer(con, "holiday_only",
                        "SELECT DISTINCT month(ordered_at) FROM orders JOIN c USING (customer_id)")
    assert {m for (m,) in rows} <= {11, 12}


def test_high_returners_return_over_40_percent(con):
    rows = per_customer(con, "high_returner", """
        SELECT count(r.order_id) / count(*) FROM orders o JOIN c USING (customer_id)
        LEFT JOIN returns r USING (order_id) GROUP BY o.customer_id""")
    assert min(rate for (rate,) in rows) > 0.4
    overall = scalar(con, "SELECT (SELECT count(*) FROM returns) / (SELECT count(*) FROM orders)")
    assert overall < 0.2


def test_lapsed_stopped_more_than_180_days_ago(con):
    rows = per_customer(con, "lapsed", f"""
        SELECT date_diff('day', max(ordered_at)::DATE, DATE '{GENERATED_END_DATE}'), count(*)
        FROM orders JOIN c USING (customer_id) GROUP BY customer_id""")
    assert min(days for days, _ in rows) > 180
    assert min(n for _, n in rows) >= 2


def test_late_for_their_rhythm(con):
    rows = per_customer(con, "late_for_rhythm", f"""
        SELECT date_diff('day', max(ordered_at)::DATE, DATE '{GENERATED_END_DATE}')
               / (date_diff('day', min(ordered_at)::DATE, max(ordered_at)::DATE) / (count(*) - 1)),
               date_diff('day', min(ordered_at)::DATE, max(ordered_at)::DATE) / (count(*) - 1)
        FROM orders JOIN c USING (customer_id) GROUP BY customer_id""")
    assert all(2.3 <= overdue <= 4.0 for overdue, _ in rows)
    assert all(20 <= rhythm <= 40 for _, rhythm in rows)


def test_cart_abandoners_left_a_recent_cart_without_ordering(con):
    rows = per_customer(con, "cart_abandoner", """
        SELECT (SELECT max(occurred_at) FROM events e WHERE e.customer_id = c.customer_id
                  AND e.type IN ('cart_add', 'checkout_start')),
               (SELECT max(ordered_at) FROM orders o WHERE o.customer_id = c.customer_id)
        FROM c""")
    for cart, last_order in rows:
        assert cart >= END - timedelta(days=6)
        assert last_order is None or last_order < cart


def test_complainers_complain_and_rate_low(con):
    rows = per_customer(con, "complainer", """
        SELECT (SELECT count(*) FROM events e WHERE e.customer_id = c.customer_id AND e.type = 'complaint'),
               (SELECT count(*) FROM reviews r WHERE r.customer_id = c.customer_id AND r.kind = 'complaint'),
               (SELECT max(rating) FROM reviews r WHERE r.customer_id = c.customer_id)
        FROM c""")
    assert all(events >= 1 and reviews >= 1 and rating <= 2 for events, reviews, rating in rows)


def test_email_unengaged_opted_in_but_silent_while_others_open(con):
    recent = f"e.type IN ('email_open', 'email_click') AND e.occurred_at >= TIMESTAMP '{END - timedelta(days=90)}'"
    rows = per_customer(con, "email_unengaged", f"""
        SELECT email_opt_in, (SELECT count(*) FROM events e WHERE e.customer_id = c.customer_id AND {recent}) FROM c""")
    assert all(opt_in and opened == 0 for opt_in, opened in rows)
    engaged = scalar(con, f"""
        SELECT avg(CASE WHEN EXISTS (SELECT 1 FROM events e WHERE e.customer_id = c.customer_id AND {recent})
                        THEN 1 ELSE 0 END)
        FROM customers c WHERE email_opt_in AND archetype <> 'email_unengaged'""")
    assert engaged > 0.95


def test_discount_and_basket_archetypes(con):
    shares = dict(con.execute("""
        SELECT archetype, avg(CASE WHEN discount > 0 THEN 1 ELSE 0 END) FROM orders JOIN customers USING (customer_id)
        GROUP BY archetype""").fetchall())
    assert shares["bargain_hunter"] > 0.7
    assert shares["loyal_full_price"] < 0.1
    values = dict(con.execute("""
        SELECT archetype, avg(total) FROM orders JOIN customers USING (customer_id) GROUP BY archetype""").fetchall())
    everyone = scalar(con, "SELECT avg(total) FROM orders")
    assert values["loyal_low_basket"] < 0.6 * everyone
    assert values["loyal_full_price"] > 1.1 * everyone
    loyal = per_customer(con, "loyal_full_price", "SELECT count(*) FROM orders JOIN c USING (customer_id) GROUP BY customer_id")
    assert min(n for (n,) in loyal) >= 15


def test_category_fans_and_cross_category_buyers(con):
    categories = """
        SELECT count(DISTINCT p.category) FROM orders o JOIN c USING (customer_id)
        JOIN order_items i USING (order_id) JOIN products p USING (product_id) GROUP BY o.customer_id"""
    assert {n for (n,) in per_customer(con, "single_category_fan", categories)} == {1}
    assert min(n for (n,) in per_customer(con, "cross_category", categories)) >= 4


def test_missed_upsell_viewed_a_pricier_product_of_the_category_first(con):
    members = per_customer(con, "missed_upsell", "SELECT customer_id FROM c")
    found = per_customer(con, "missed_upsell", """
        SELECT count(DISTINCT o.customer_id)
        FROM orders o JOIN c USING (customer_id)
        JOIN order_items i USING (order_id) JOIN products bought ON bought.product_id = i.product_id
        JOIN events e ON e.customer_id = o.customer_id AND e.type = 'product_view'
                     AND e.occurred_at BETWEEN o.ordered_at - INTERVAL 3 DAY AND o.ordered_at
        JOIN products viewed ON viewed.product_id = e.product_id
                            AND viewed.category = bought.category AND viewed.price > bought.price""")
    assert found[0][0] == len(members)


def test_new_customers_arrived_in_the_last_30_days(con):
    rows = per_customer(con, "new_customer", """
        SELECT c.created_at, min(o.ordered_at) FROM c JOIN orders o USING (customer_id) GROUP BY ALL""")
    for created, first_order in rows:
        assert created >= END - timedelta(days=30)
        assert first_order >= END - timedelta(days=30)
        assert created <= first_order


def test_time_and_device_preferences(con):
    def share(pref: str, condition: str) -> float:
        return scalar(con, f"""
            SELECT avg(CASE WHEN {condition} THEN 1 ELSE 0 END)
            FROM orders JOIN customers USING (customer_id) WHERE time_pref = '{pref}'""")

    assert share("lunch", "hour(ordered_at) BETWEEN 11 AND 13") > 0.6
    assert share("evening", "hour(ordered_at) BETWEEN 18 AND 22") > 0.6
    assert share("weekend", "isodow(ordered_at) >= 6") > 0.6
    assert share("anytime", "isodow(ordered_at) >= 6") < 0.45
    ios = scalar(con, """
        SELECT avg(CASE WHEN e.device = 'mobile' AND e.os = 'iOS' THEN 1 ELSE 0 END)
        FROM events e JOIN customers c USING (customer_id) WHERE c.device_pref = 'mobile/iOS'""")
    assert ios > 0.6


# --- writing safely ------------------------------------------------------------------------


def test_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "shop.duckdb"
    out.write_bytes(b"precious")
    with pytest.raises(GenerateError) as info:
        generate(out, customers=10)
    assert "--force" in str(info.value) and "\n" not in str(info.value)
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.duckdb"]
    result = generate(out, customers=10, force=True)
    assert result.row_counts["customers"] == 10
    assert _checksums(out)["customers"][0] == 10


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_no_file_is_left_after_a_failure(tmp_path, error):
    def explode(step: str, fraction: float) -> None:
        if step == "orders":
            raise error("stop")

    with pytest.raises(error):
        generate(tmp_path / "shop.duckdb", customers=50, progress=explode)
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_an_existing_file_when_forcing(tmp_path):
    out = tmp_path / "shop.duckdb"
    out.write_bytes(b"old")

    def explode(step: str, fraction: float) -> None:
        if step == "events":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(out, customers=50, force=True, progress=explode)
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["shop.duckdb"]


@pytest.mark.parametrize("customers", [0, -5])
def test_customers_must_be_positive(tmp_path, customers):
    with pytest.raises(GenerateError):
        generate(tmp_path / "shop.duckdb", customers=customers)
    assert list(tmp_path.iterdir()) == []


def test_progress_goes_from_zero_to_one(tmp_path):
    seen: list[tuple[str, float]] = []
    generate(tmp_path / "shop.duckdb", customers=20, progress=lambda step, f: seen.append((step, f)))
    fractions = [f for _, f in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert {"plan", "orders", "events"} <= {step for step, _ in seen}


# --- parquet and the committed sample ------------------------------------------------------


def test_export_parquet_folder_writes_one_file_per_table(shop, tmp_path):
    written = export_parquet_folder(shop, tmp_path / "pq")
    assert sorted(written) == sorted(TABLES)
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM '{written['customers']}'").fetchone()[0] == SHOP_CUSTOMERS
    with pytest.raises(GenerateError):
        export_parquet_folder(shop, tmp_path / "pq")


def _content_hashes(con, source: str) -> tuple[int, int]:
    return con.execute(f"SELECT count(*), sum(hash(t)) FROM {source} AS t").fetchone()


def test_committed_sample_data_matches_a_fresh_generation(tmp_path):
    folder = sample_data_dir()
    files = {t: folder / f"{t}.parquet" for t in TABLES}
    missing = [p.name for p in files.values() if not p.exists()]
    assert not missing, f"sample_data/ lacks {missing}; see sample_data/README.md to regenerate"
    assert sum(p.stat().st_size for p in files.values()) < 10_000_000
    fresh = generate(tmp_path / "fresh.duckdb", customers=5000, seed=42)
    con = duckdb.connect(str(fresh.path), read_only=True)
    try:
        for table, path in files.items():
            committed = _content_hashes(con, f"read_parquet('{path}')")
            generated = _content_hashes(con, table)
            assert committed == generated, f"sample_data/{table}.parquet is stale: regenerate it (sample_data/README.md)"
    finally:
        con.close()
