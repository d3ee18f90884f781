"""customer_features on tiny hand-made shops whose right answers are worked out by hand.

Every shop is built as plain tables with exactly the contract's columns and types (the views
segtui.core.source would make); the as-of date is 2024-03-31 (a Sunday) unless a test says
otherwise, so "the end of the as-of day" is 2024-04-01 00:00.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from segtui.core import features as F
from segtui.core.features import catalog
from segtui.resources import queries_dir, read_query

AS_OF = date(2024, 3, 31)

CONTRACT: dict[str, list[tuple[str, str]]] = {
    "orders": [("order_id", "ID"), ("customer_id", "ID"), ("ordered_at", "TIMESTAMP"), ("total", "DOUBLE"),
               ("discount", "DOUBLE"), ("channel", "VARCHAR"), ("device", "VARCHAR"),
               ("payment_method", "VARCHAR")],
    "customers": [("customer_id", "ID"), ("created_at", "TIMESTAMP"), ("country", "VARCHAR"),
                  ("city", "VARCHAR"), ("birth_date", "DATE"), ("gender", "VARCHAR"),
                  ("email_opt_in", "BOOLEAN")],
    "order_items": [("order_id", "ID"), ("product_id", "ID"), ("quantity", "DOUBLE"), ("price", "DOUBLE")],
    "products": [("product_id", "ID"), ("category", "VARCHAR"), ("price", "DOUBLE"), ("brand", "VARCHAR")],
    "events": [("customer_id", "ID"), ("occurred_at", "TIMESTAMP"), ("type", "VARCHAR"), ("product_id", "ID"),
               ("device", "VARCHAR"), ("os", "VARCHAR"), ("session_id", "VARCHAR")],
    "returns": [("order_id", "ID"), ("returned_at", "TIMESTAMP"), ("amount", "DOUBLE"), ("reason", "VARCHAR")],
    "reviews": [("customer_id", "ID"), ("created_at", "TIMESTAMP"), ("rating", "DOUBLE"), ("kind", "VARCHAR")],
}


class Shop:
    """A shop in an in-memory DuckDB: ``Shop(orders=[{...}, ...], events=[...])``.

    Rows are dicts; a column no row mentions is NULL and counts as absent from the source
    (``present_columns``), like a column the real source lacks. Timestamps may be given as
    'YYYY-MM-DD HH:MM[:SS]' strings. ``ids`` is the SQL type of every ID column.
    """

    #: Which files build the features (catalog.ENGINES); the ``engine`` fixture sets it.
    engine = "duckdb"

    def __init__(self, ids: str = "BIGINT", **tables: list[dict]):
        self.con = duckdb.connect()
        tables.setdefault("orders", [])  # orders is required: an empty one for event-only shops
        self.tables = set(tables)
        self.present_columns: dict[str, set[str]] = {}
        for table, rows in tables.items():
            columns = CONTRACT[table]
            types = {name: (ids if kind == "ID" else kind) for name, kind in columns}
            self.con.execute(f"CREATE TABLE {table} ({', '.join(f'{n} {t}' for n, t in types.items())})")
            for row in rows:
                unknown = set(row) - set(types)
                assert not unknown, f"{table} has no column {unknown}"
            if rows:
                names = list(types)
                values = [[row.get(n) for n in names] for row in rows]
                placeholders = ", ".join(f"CAST(? AS {types[n]})" for n in names)
                self.con.executemany(f"INSERT INTO {table} VALUES ({placeholders})", values)
            self.present_columns[table] = {n for row in rows for n in row} or set(types)

    def build(self, as_of: date = AS_OF) -> F.FeatureSet:
        return F.build_features(self.con, as_of, self.tables, self.present_columns, engine=self.engine)

    def features(self, as_of: date = AS_OF) -> dict:
        """{customer_id: {column: value}} after building."""
        self.feature_set = self.build(as_of)
        cursor = self.con.execute("SELECT * FROM customer_features")
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}


@pytest.fixture(autouse=True, params=catalog.ENGINES)
def engine(request, monkeypatch):
    """Every hand-worked shop is built both ways: with the DuckDB overrides and with the
    portable reference files alone."""
    monkeypatch.setattr(Shop, "engine", request.param)
    return request.param


@pytest.fixture(params=["value counts", "grouping"])
def mode_path(request, monkeypatch):
    """Run a "most frequent value" test both ways: from the per-value counts of the one pass
    over the orders/events (few values) and from the family's grouping file (many values)."""
    if request.param == "grouping":
        monkeypatch.setattr(catalog, "VALUE_COUNT_MAX", 0)
    return request.param


def order(oid, cid, at, total=10.0, **more):
    return {"order_id": oid, "customer_id": cid, "ordered_at": at, "total": total, **more}


def event(cid, at, type_, **more):
    return {"customer_id": cid, "occurred_at": at, "type": type_, **more}


# ---------------------------------------------------------------------------------------------
# Core features


def test_core_features_by_hand():
    shop = Shop(
        orders=[
            # customer 1: three orders up to the as-of day; one after it and one undated are ignored
            order(1, 1, "2024-01-01 10:00", 100.0),
            order(2, 1, "2024-02-01 12:00", 50.0),
            order(3, 1, "2024-03-01 09:00", None),       # NULL total counts as an order of 0
            order(4, 1, "2024-04-01 00:00", 1000.0),     # the first instant after the as-of day
            order(5, 1, None, 999.0),                    # no timestamp: ignored
            # customer 2: one order in the last second of the as-of day (included)
            order(6, 2, "2024-03-31 23:59:59", 20.0),
            # customer 4: a refund bigger than the purchase
            order(7, 4, "2024-03-30 15:00", 30.0),
            order(8, 4, "2024-03-31 00:00", -40.0),
            # customer 5: two orders on the same day
            order(9, 5, "2024-03-15 08:00", 10.0),
            order(10, 5, "2024-03-15 20:00", 10.0),
            # customer 6: only after the as-of day, so not a customer yet
            order(11, 6, "2024-04-01 00:00:00", 10.0),
            # no customer: ignored
            order(12, None, "2024-03-01 00:00", 5000.0),
        ],
        events=[event(3, "2024-03-10 10:00", "page_view")],   # customer 3: events only
    )
    rows = shop.features()
    assert sorted(rows) == [1, 2, 3, 4, 5]      # no 6 (after as-of), no NULL id

    c1 = rows[1]
    assert c1["orders"] == 3
    assert c1["total_spent"] == 150.0            # 100 + 50 + 0
    assert c1["avg_order_value"] == 50.0         # 150 / 3
    assert c1["first_order_at"] == datetime(2024, 1, 1, 10, 0)
    assert c1["last_order_at"] == datetime(2024, 3, 1, 9, 0)
    assert c1["days_since_last_order"] == 30     # Mar 1 -> Mar 31
    assert c1["days_since_first_order"] == 90    # Jan 1 -> Mar 31: 31 + 29 (leap year) + 30
    assert c1["avg_days_between_orders"] == 30.0  # (90 - 30) / (3 - 1)
    assert c1["overdue_ratio"] == 1.0            # 30 / 30

    c2 = rows[2]
    assert (c2["orders"], c2["total_spent"], c2["avg_order_value"]) == (1, 20.0, 20.0)
    assert c2["days_since_last_order"] == 0 and c2["days_since_first_order"] == 0
    assert c2["avg_days_between_orders"] is None   # below 2 orders
    assert c2["overdue_ratio"] is None

    c3 = rows[3]                                     # events only
    assert (c3["orders"], c3["total_spent"]) == (0, 0.0)
    for name in ("avg_order_value", "first_order_at", "last_order_at", "days_since_last_order",
                 "days_since_first_order", "avg_days_between_orders", "overdue_ratio", "spend_percentile"):
        assert c3[name] is None, name

    c4 = rows[4]
    assert (c4["orders"], c4["total_spent"], c4["avg_order_value"]) == (2, -10.0, -5.0)  # 30 - 40
    assert c4["days_since_last_order"] == 0 and c4["days_since_first_order"] == 1
    assert c4["avg_days_between_orders"] == 1.0      # (1 - 0) / 1
    assert c4["overdue_ratio"] == 0.0                # 0 / 1

    c5 = rows[5]
    assert c5["avg_days_between_orders"] == 0.0      # same day: (16 - 16) / 1
    assert c5["overdue_ratio"] is None               # average 0

    # spend_percentile among the four buyers: totals -10 (c4), 20 (c2), 20 (c5), 150 (c1);
    # percent_rank = (rank - 1) / (4 - 1): c4 0, c2 and c5 share rank 2 -> 1/3, c1 rank 4 -> 1.
    assert rows[4]["spend_percentile"] == 0.0
    assert rows[2]["spend_percentile"] == rows[5]["spend_percentile"] == pytest.approx(100 / 3)
    assert rows[1]["spend_percentile"] == 100.0


def test_total_spent_is_exact_to_the_cent():
    """Doubles added up leave noise in the last bits (0.1 + 0.2 = 0.30000000000000004; these four
    totals add up to 2522.7099999999996): total_spent is the sum rounded to the cent, so equal
    spends are equal (one spend_percentile), and averages are taken of that sum."""
    shop = Shop(orders=[
        order(1, 1, "2024-03-01 10:00", 0.1),
        order(2, 1, "2024-03-02 10:00", 0.2),
        order(3, 2, "2024-03-01 10:00", 0.3),
        *[order(10 + i, 3, f"2024-03-0{i + 1} 10:00", total) for i, total in enumerate((482.19, 720.32, 885.06, 435.14))],
        order(20, 4, "2024-03-01 10:00", 2522.71),
    ])
    rows = shop.features()
    assert repr(rows[1]["total_spent"]) == "0.3" and rows[1]["avg_order_value"] == 0.15
    assert repr(rows[3]["total_spent"]) == "2522.71" and rows[3]["total_spent"] == rows[4]["total_spent"]
    assert rows[1]["spend_percentile"] == rows[2]["spend_percentile"]
    assert rows[3]["spend_percentile"] == rows[4]["spend_percentile"] == pytest.approx(200 / 3)  # tied
    assert rows[3]["avg_order_value"] == 2522.71 / 4     # full precision: rounded only on the way out


def test_rows_of_one_order_id_are_one_order():
    shop = Shop(orders=[
        order(70, 7, "2024-03-01 11:00", 7.0),
        order(70, 7, "2024-03-01 10:00", 5.0),   # a second line of order 70
        order(71, 7, "2024-03-11 10:00", 3.0),
    ])
    c = shop.features()[7]
    assert c["orders"] == 2                      # distinct order ids
    assert c["total_spent"] == 15.0              # 7 + 5 + 3
    assert c["first_order_at"] == datetime(2024, 3, 1, 10, 0)   # an order is dated by its earliest row
    assert c["avg_days_between_orders"] == 10.0  # Mar 1 -> Mar 11, 1 gap


def test_a_row_without_an_order_id_is_an_order_of_its_own():
    """A NULL order_id (or one that did not parse) used to make `orders - 1` underflow an
    unsigned count and fail the whole build; such a row counts as one order, as every row does
    when the column is absent (DESIGN.md)."""
    shop = Shop(orders=[
        order(80, 8, "2023-02-01 10:00", 4.0),    # more than 365 days before 2024-03-31
        order(81, 8, "2024-03-01 10:00", 1.0),
        order(81, 8, "2024-03-01 10:05", 1.0),    # a second line of order 81
        order(None, 8, "2024-03-05 10:00", 2.0),
        order(None, 8, "2024-03-09 10:00", 2.0),  # two rows without an id: two orders
        order(None, 9, "2024-03-10 10:00", 6.0),  # a buyer with no id at all
    ])
    rows = shop.features()
    assert rows[8]["orders"] == 4                  # 80, 81, and the two id-less rows
    assert rows[8]["orders_365d"] == 3             # 81 and the two id-less rows
    assert rows[8]["total_spent"] == 10.0
    assert rows[8]["avg_days_between_orders"] == 402 / 3   # 2023-02-01 -> 2024-03-09, 3 gaps
    assert (rows[9]["orders"], rows[9]["orders_365d"], rows[9]["avg_days_between_orders"]) == (1, 1, None)


def test_a_lone_buyer_has_spend_percentile_0_and_scores_1():
    rows = Shop(orders=[order(1, 1, "2024-03-01 10:00", 10.0)]).features()
    # percent_rank of a single row is 0: nobody else spent less
    assert rows[1]["spend_percentile"] == 0.0
    assert (rows[1]["r_score"], rows[1]["f_score"], rows[1]["m_score"]) == (1, 1, 1)
    assert rows[1]["rfm_segment"] == "Hibernating"
    assert rows[1]["usage_level"] == "light"


def test_the_as_of_date_moves_the_cut():
    shop = Shop(orders=[order(1, 1, "2024-03-01 10:00", 10.0), order(2, 1, "2024-03-20 10:00", 30.0)])
    early = shop.features(date(2024, 3, 10))[1]
    assert (early["orders"], early["total_spent"], early["days_since_last_order"]) == (1, 10.0, 9)
    assert shop.feature_set.as_of == date(2024, 3, 10)
    on_day = shop.features(date(2024, 3, 20))[1]    # the whole as-of day is included
    assert (on_day["orders"], on_day["total_spent"], on_day["days_since_last_order"]) == (2, 40.0, 0)
    before = shop.features(date(2024, 2, 29))
    assert before == {}                              # nobody is a customer yet


def test_universe_takes_customers_orders_and_events():
    shop = Shop(
        customers=[
            {"customer_id": 1, "created_at": "2024-01-01 00:00"},
            {"customer_id": 2, "created_at": None},               # undated: included
            {"customer_id": 3, "created_at": "2024-04-01 00:00"},  # created after as-of: not yet
            {"customer_id": None, "created_at": "2024-01-01 00:00"},
        ],
        orders=[order(1, 4, "2024-03-01 10:00")],
        events=[event(5, "2024-03-31 12:00", "page_view"), event(None, "2024-03-31 12:00", "page_view"),
                event(6, "2024-04-01 00:00", "page_view")],
    )
    rows = shop.features()
    assert sorted(rows) == [1, 2, 4, 5]
    assert rows[1]["orders"] == 0 and rows[1]["usage_level"] == "none"
    assert rows[1]["tenure_days"] == 90              # created Jan 1 -> Mar 31
    assert rows[2]["tenure_days"] is None            # no created_at, no activity
    assert rows[4]["tenure_days"] == 30              # no customers row: since the first order (Mar 1)
    assert rows[5]["tenure_days"] == 0               # since the first event (the as-of day)


# ---------------------------------------------------------------------------------------------
# RFM and usage


def _rfm_shop() -> Shop:
    def orders(cid, dates, total):
        return [order(cid * 100 + i, cid, f"{d} 12:00", total) for i, d in enumerate(dates)]

    return Shop(
        customers=[{"customer_id": 7, "created_at": "2024-01-01 00:00"}],   # never bought
        orders=(
            orders(1, ["2024-03-31"], 10.0)
            + orders(2, ["2024-03-21", "2024-02-01"], 20.0)
            + orders(3, ["2024-03-21", "2024-01-15"], 30.0)
            + orders(4, ["2024-03-11", "2024-02-10", "2024-01-10", "2023-12-10"], 25.0)
            + orders(5, ["2024-03-01", "2024-02-01", "2024-01-01", "2023-12-01", "2023-11-01"], 10.0)
            + orders(6, ["2023-02-25"], 500.0)       # 400 days before the as-of date
        ),
    )


def test_rfm_scores_and_segments_by_hand():
    rows = _rfm_shop().features()
    # Six buyers, percent_rank = (rank - 1) / 5, score = least(5, 1 + floor(5 * pr)) = least(5, rank)
    # for distinct values; ties share the lower rank.
    # R orders days_since_last_order descending: c6 400 (rank 1), c5 30 (2), c4 20 (3),
    #   c2 and c3 10 (4), c1 0 (6 -> 5).
    # F orders orders ascending: c1 and c6 1 (rank 1), c2 and c3 2 (3), c4 4 (5), c5 5 (6 -> 5).
    # M orders total_spent ascending: c1 10, c2 40, c5 50, c3 60, c4 100, c6 500 -> 1, 2, 3, 4, 5, 5.
    expected = {
        1: (5, 1, 1, "New customers"),
        2: (4, 3, 2, "Potential loyalists"),
        3: (4, 3, 4, "Potential loyalists"),
        4: (3, 5, 5, "Loyal customers"),
        5: (2, 5, 3, "Can't lose them"),
        6: (1, 1, 5, "Hibernating"),
        7: (None, None, None, None),
    }
    got = {c: (r["r_score"], r["f_score"], r["m_score"], r["rfm_segment"]) for c, r in rows.items()}
    assert got == expected
    # spend_percentile of the same six: 10, 40, 50, 60, 100, 500 -> 0, 20, 40, 60, 80, 100
    assert [rows[c]["spend_percentile"] for c in (1, 2, 5, 3, 4, 6)] == pytest.approx([0, 20, 40, 60, 80, 100])


def test_usage_level_by_hand():
    rows = _rfm_shop().features()
    # orders_365d: c1 1, c2 2, c3 2, c4 4, c5 5; c6's only order is 400 days old.
    assert {c: r["orders_365d"] for c, r in rows.items()} == {1: 1, 2: 2, 3: 2, 4: 4, 5: 5, 6: 0, 7: 0}
    # percent_rank among the five with orders: 1 -> 0, 2 -> 0.25 (shared), 4 -> 0.75, 5 -> 1
    assert {c: r["usage_level"] for c, r in rows.items()} == {
        1: "light", 2: "light", 3: "light", 4: "medium", 5: "heavy", 6: "none", 7: "none"}


RFM_GRID = {  # (r, f) -> segment, the standard grid documented in rfm.sql
    **{(r, f): "Hibernating" for r in (1, 2) for f in (1, 2)},
    **{(r, f): "At risk" for r in (1, 2) for f in (3, 4)},
    **{(r, 5): "Can't lose them" for r in (1, 2)},
    (3, 1): "About to sleep", (3, 2): "About to sleep", (3, 3): "Need attention",
    (3, 4): "Loyal customers", (3, 5): "Loyal customers",
    (4, 1): "Promising", (4, 2): "Potential loyalists", (4, 3): "Potential loyalists",
    (4, 4): "Loyal customers", (4, 5): "Loyal customers",
    (5, 1): "New customers", (5, 2): "Potential loyalists", (5, 3): "Potential loyalists",
    (5, 4): "Champions", (5, 5): "Champions",
}


def test_rfm_grid_covers_every_cell_exactly_once():
    """The CASE in rfm.sql, evaluated on all 25 (r, f) cells, is the documented grid."""
    tree = sqlglot.parse_one(read_query("features/rfm.sql"), read="duckdb")
    case = next(a.this for a in tree.find_all(exp.Alias) if a.alias == "rfm_segment")
    cells = ", ".join(f"({r}, {f})" for r in range(1, 6) for f in range(1, 6))
    got = duckdb.connect().execute(
        f"SELECT r_score, f_score, {case.sql('duckdb')} FROM (VALUES {cells}) AS t(r_score, f_score)"
    ).fetchall()
    assert len(got) == 25 and len(RFM_GRID) == 25
    assert {(r, f): name for r, f, name in got} == RFM_GRID
    assert len(set(RFM_GRID.values())) == 10


# ---------------------------------------------------------------------------------------------
# Order features: discounts, timing, habits


def test_discount_shares():
    shop = Shop(orders=[
        order(1, 1, "2024-03-01 10:00", discount=5.0),
        order(2, 1, "2024-03-02 10:00", discount=0.0),
        order(3, 1, "2024-03-03 10:00", discount=None),   # no discount recorded: full price
        order(4, 1, "2024-03-04 10:00", discount=2.5),
        order(5, 1, "2024-04-04 10:00", discount=9.0),    # after as-of
    ], customers=[{"customer_id": 2}])
    rows = shop.features()
    assert rows[1]["discount_share"] == 0.5       # 2 of 4 orders
    assert rows[1]["full_price_share"] == 0.5
    assert rows[2]["discount_share"] is None and rows[2]["full_price_share"] is None


def test_a_discount_column_without_any_value_means_full_price():
    """An all-NULL discount column: DuckDB folds `discount > 0` into a NULL constant, whose
    count_if is NULL; every order is still full price (DESIGN.md)."""
    shop = Shop(orders=[
        order(1, 1, "2024-03-01 10:00", discount=None),
        order(2, 1, "2024-03-02 10:00", discount=None),
        order(3, 2, "2024-03-03 10:00", discount=None),
    ])
    rows = shop.features()
    assert [(rows[c]["discount_share"], rows[c]["full_price_share"]) for c in (1, 2)] == [(0.0, 1.0), (0.0, 1.0)]


def test_timing_features_by_hand():
    shop = Shop(orders=[
        # customer 1: 2024-03-02 is a Saturday, 03-03 a Sunday, 03-05 a Tuesday,
        # 2023-11-20 a Monday, 2023-12-24 a Sunday
        order(1, 1, "2024-03-02 10:15"),
        order(2, 1, "2024-03-03 18:00"),
        order(3, 1, "2024-03-05 18:30"),
        order(4, 1, "2023-11-20 10:59"),
        order(5, 1, "2023-12-24 09:00"),
        # customer 2: Monday 08:00 and Wednesday 20:00 -> ties everywhere
        order(6, 2, "2024-03-04 08:00"),
        order(7, 2, "2024-03-06 20:00"),
    ])
    rows = shop.features()
    c1 = rows[1]
    assert c1["preferred_hour"] == 10              # 10h twice, 18h twice, 9h once: tie -> earliest
    assert c1["preferred_weekday"] == 7            # Sunday twice, every other day once
    assert c1["preferred_weekday_name"] == "Sun"
    assert c1["weekend_share"] == 0.6              # Sat + Sun + Sun of 5
    assert c1["holiday_share"] == 0.4              # November + December of 5
    c2 = rows[2]
    assert (c2["preferred_hour"], c2["preferred_weekday"], c2["preferred_weekday_name"]) == (8, 1, "Mon")
    assert (c2["weekend_share"], c2["holiday_share"]) == (0.0, 0.0)


def test_heavy_buyers_hours_and_weekdays_are_exact():
    """The hourly and weekday counts travel packed 10 bits each below 1024 order rows; a buyer
    with more is counted apart. Packed, 1030 orders at 03:00 would read as 6 and carry one into
    04:00, which has 1000: the packed pick would say 4."""
    shop = Shop(orders=[order(1, 1, "2024-03-05 03:00"), order(2, 2, "2024-03-08 04:00")])
    # customer 1: 1030 orders at 03:xx on Tuesdays, 1000 at 04:xx on Fridays
    shop.con.execute("""
        INSERT INTO orders (order_id, customer_id, ordered_at, total)
        SELECT 100 + i, 1, TIMESTAMP '2024-03-05 03:00' - INTERVAL (7 * (i % 50)) DAY, 1.0
        FROM range(1029) AS t(i)
        UNION ALL
        SELECT 5000 + i, 1, TIMESTAMP '2024-03-08 04:00' - INTERVAL (7 * (i % 50)) DAY, 1.0
        FROM range(1000) AS t(i)""")
    rows = shop.features()
    assert rows[1]["orders"] == 2030
    assert (rows[1]["preferred_hour"], rows[1]["preferred_weekday"]) == (3, 2)
    assert (rows[2]["preferred_hour"], rows[2]["preferred_weekday"]) == (4, 5)


def test_many_values_fall_back_to_grouping():
    """A column with more values than VALUE_COUNT_MAX is picked by the grouping file, a quote
    in a value is just text, and both give the same picks."""
    methods = [f"method {i:02d}" for i in range(F.VALUE_COUNT_MAX + 5)] + ["o'brien"]
    orders = [order(i, 1 + i % 3, f"2024-03-{1 + i % 28:02d} 10:00", payment_method=m, channel=m[:3])
              for i, m in enumerate(methods)]
    orders += [order(900, 3, "2024-03-30 10:00", payment_method="o'brien")]
    rows = Shop(orders=orders).features()
    picks = {c: (r["main_payment_method"], r["main_channel"]) for c, r in rows.items()}
    assert picks == {1: ("method 00", "met"), 2: ("method 01", "met"), 3: ("o'brien", "met")}


def test_value_lists_of_earlier_dates_come_from_one_scan_at_the_last():
    """The segment history takes every date's value lists from one scan at its last date
    (``ValueDays``): at each date they are what that date's own scan finds. A value counts
    from the day of its first row (its last second included), a NULL never, a device of the
    events as one of the orders, and a column that outgrows VALUE_COUNT_MAX has no list from
    that day on."""
    from segtui.core.features.build import FeatureBuilder

    methods = [f"pay {i:02d}" for i in range(F.VALUE_COUNT_MAX)]
    orders = [order(i, 1, f"2024-01-{1 + i:02d} 10:00", payment_method=m) for i, m in enumerate(methods)]
    orders += [
        order(100, 2, "2024-01-05 10:00", device=None, channel="web"),
        order(101, 2, "2024-01-10 10:00", device="mobile"),
        order(102, 3, "2024-02-01 23:59:59", device="desktop", channel="app"),
        order(103, 3, "2024-03-10 00:00", payment_method="pay zz"),  # the 25th method
        order(104, 3, "2024-04-02 10:00", device="fridge"),  # after the last date: never listed
    ]
    events = [event(4, "2024-02-15 10:00", "page_view", device="tv", os="ios"),
              event(4, "2024-03-01 10:00", "page_view", device="mobile", os="android")]
    shop = Shop(orders=orders, events=events)
    columns = ["channel", "device", "os", "payment_method"]
    last = date(2024, 3, 31)
    days = FeatureBuilder(shop.con, last, shop.tables, shop.present_columns).value_days()
    assert days.day == last and sorted(days.oldest) == columns

    def scanned(day):
        return FeatureBuilder(shop.con, day, shop.tables, shop.present_columns).values(columns)

    for day in [date(2024, 1, 4), date(2024, 1, 5), date(2024, 1, 9), date(2024, 1, 10), date(2024, 1, 31),
                date(2024, 2, 1), date(2024, 2, 14), date(2024, 2, 15), date(2024, 3, 9), date(2024, 3, 10), last]:
        assert days.at(day) == scanned(day), day
    assert days.at(date(2024, 1, 31))["device"] == ["mobile"]
    assert days.at(date(2024, 2, 1))["device"] == ["desktop", "mobile"]
    assert days.at(date(2024, 2, 15)) == {"channel": ["app", "web"], "device": ["desktop", "mobile", "tv"],
                                          "os": ["ios"], "payment_method": methods}
    assert days.at(date(2024, 3, 10))["payment_method"] is None
    assert days.at(date(2023, 12, 31)) == {"channel": [], "device": [], "os": [], "payment_method": []}
    with pytest.raises(ValueError):
        days.at(date(2024, 4, 1))


def test_main_payment_method_and_channel(mode_path):
    shop = Shop(orders=[
        order(1, 1, "2024-03-01 10:00", payment_method="pay'pal", channel="web"),
        order(2, 1, "2024-03-02 10:00", payment_method="card", channel="app"),
        order(3, 1, "2024-03-03 10:00", payment_method="pay'pal", channel=None),
        order(4, 1, "2024-03-04 10:00", payment_method="card", channel=None),
        order(5, 1, "2024-04-05 10:00", payment_method="pay'pal", channel="web"),   # after as-of
        order(6, 2, "2024-03-04 10:00", payment_method=None, channel=None),
    ])
    rows = shop.features()
    # card 2, pay'pal 2 -> tie -> card (a quote in a value is just text); channel: NULL twice is ignored, app 1, web 1 -> app
    assert (rows[1]["main_payment_method"], rows[1]["main_channel"]) == ("card", "app")
    assert (rows[2]["main_payment_method"], rows[2]["main_channel"]) == (None, None)


# ---------------------------------------------------------------------------------------------
# Categories (order_items + products)

PRODUCTS = [
    {"product_id": 1, "category": "shoes", "price": 50.0},
    {"product_id": 2, "category": "shoes", "price": 80.0},
    {"product_id": 3, "category": "bags", "price": 100.0},
    {"product_id": 4, "category": "hats", "price": 20.0},
    {"product_id": 5, "category": None, "price": 1.0},
]


def test_favorite_category_and_category_count():
    shop = Shop(
        orders=[order(10, 1, "2024-03-01 10:00"), order(11, 1, "2024-03-02 10:00"),
                order(20, 2, "2024-03-01 10:00"), order(30, 3, "2024-03-01 10:00"),
                order(40, 4, "2024-03-01 10:00"), order(50, 5, "2024-04-02 10:00")],
        order_items=[
            # customer 1: shoes 2 items, bags 1, hats 3 (list price 20 when the line has none),
            # 10 items without a category are ignored -> hats; 3 categories
            {"order_id": 10, "product_id": 1, "quantity": 2.0, "price": 40.0},
            {"order_id": 10, "product_id": 3, "quantity": 1.0, "price": 100.0},
            {"order_id": 11, "product_id": 4, "quantity": 3.0, "price": None},
            {"order_id": 11, "product_id": 5, "quantity": 10.0, "price": 1.0},
            # customer 2: one item each; spend shoes 50, bags 100 -> bags
            {"order_id": 20, "product_id": 1, "quantity": 1.0, "price": 50.0},
            {"order_id": 20, "product_id": 3, "quantity": 1.0, "price": 100.0},
            # customer 3: one item and 30 spent each -> by name: hats before shoes
            {"order_id": 30, "product_id": 4, "quantity": 1.0, "price": 30.0},
            {"order_id": 30, "product_id": 1, "quantity": 1.0, "price": 30.0},
            # customer 4: a NULL quantity counts as 1 item: shoes 1 item / 10 spent, hats 1 / 5 -> shoes
            {"order_id": 40, "product_id": 1, "quantity": None, "price": 10.0},
            {"order_id": 40, "product_id": 4, "quantity": 1.0, "price": 5.0},
            # customer 5: bought only after as-of
            {"order_id": 50, "product_id": 1, "quantity": 1.0, "price": 50.0},
        ],
        products=PRODUCTS,
    )
    rows = shop.features()
    assert {c: (r["favorite_category"], r["category_count"]) for c, r in rows.items()} == {
        1: ("hats", 3), 2: ("bags", 2), 3: ("hats", 2), 4: ("shoes", 2)}
    # customer 5 is not a customer yet at all (their only order is after as-of)


def test_a_product_listed_twice_counts_once_in_its_first_category_by_name():
    products = PRODUCTS + [{"product_id": 1, "category": "bags", "price": 999.0}]  # 1 is also shoes
    shop = Shop(
        orders=[order(10, 1, "2024-03-01 10:00")],
        order_items=[{"order_id": 10, "product_id": 1, "quantity": 2.0, "price": 40.0},
                     {"order_id": 10, "product_id": 4, "quantity": 1.0, "price": 5.0}],
        products=products,
    )
    row = shop.features()[1]
    # product 1 is "bags" (before "shoes"), bought twice: bags 2 items vs hats 1
    assert (row["favorite_category"], row["category_count"]) == ("bags", 2)


# ---------------------------------------------------------------------------------------------
# Events


def test_event_counts_by_hand():
    shop = Shop(events=[
        event(1, "2024-03-31 23:00", "product_view", product_id=1, session_id="s1"),  # day 0
        event(1, "2024-03-31 08:00", "page_view", session_id="s1"),                   # same day
        event(1, "2024-03-02 10:00", "product_view", product_id=2, session_id="s2"),  # 29 days ago
        event(1, "2024-03-01 10:00", "product_view", product_id=3, session_id="s3"),  # 30: outside
        event(1, "2024-03-20 10:00", "email_open"),          # not a visit
        event(1, "2024-03-20 10:05", "email_click"),
        event(1, "2024-01-02 10:00", "email_open"),          # 89 days ago: inside 90
        event(1, "2024-01-01 10:00", "email_open"),          # 90 days ago: outside
        event(1, "2024-04-01 10:00", "search", session_id="s9"),        # after as-of
        event(1, None, "product_view", product_id=1, session_id="s8"),  # undated
        event(2, "2024-03-01 10:00", "wishlist", session_id="x"),       # unknown type, 30 days ago
    ])
    rows = shop.features()
    c1 = rows[1]
    assert c1["product_views_30d"] == 2          # Mar 31 and Mar 2
    assert c1["visits_30d"] == 2                 # days Mar 31 and Mar 2 (emails don't count)
    assert c1["sessions_30d"] == 2               # s1, s2
    assert c1["email_opens_90d"] == 2            # Mar 20, Jan 2
    assert c1["email_clicks_90d"] == 1
    c2 = rows[2]
    assert (c2["product_views_30d"], c2["visits_30d"], c2["sessions_30d"], c2["email_opens_90d"]) == (0, 0, 0, 0)
    assert c2["orders"] == 0 and c2["last_action"] is None    # an unknown type is no action


def test_views_without_purchase_with_order_items():
    shop = Shop(
        orders=[order(10, 1, "2024-03-10 10:00"), order(20, 2, "2024-04-02 10:00")],
        order_items=[{"order_id": 10, "product_id": 1, "quantity": 1.0},
                     {"order_id": 20, "product_id": 2, "quantity": 1.0}],
        events=[
            # customer 1 bought product 1: its view doesn't count; 2 views of product 2 do;
            # a view without product is ignored; the view 30 days ago is outside the window
            event(1, "2024-03-20 10:00", "product_view", product_id=1),
            event(1, "2024-03-21 10:00", "product_view", product_id=2),
            event(1, "2024-03-22 10:00", "product_view", product_id=2),
            event(1, "2024-03-22 11:00", "product_view", product_id=None),
            event(1, "2024-03-01 10:00", "product_view", product_id=3),
            # customer 2 buys product 2 only after as-of: the view counts
            event(2, "2024-03-30 10:00", "product_view", product_id=2),
        ],
    )
    rows = shop.features()
    assert rows[1]["views_without_purchase"] == 2
    assert rows[2]["views_without_purchase"] == 1


def test_views_without_purchase_without_order_items():
    shop = Shop(
        orders=[order(10, 1, "2024-03-10 10:00"), order(20, 2, "2024-02-20 10:00")],
        events=[
            event(1, "2024-03-20 10:00", "product_view", product_id=1),   # ordered 21 days ago -> 0
            event(2, "2024-03-20 10:00", "product_view", product_id=1),   # last order 40 days ago
            event(2, "2024-03-21 10:00", "product_view", product_id=2),
            event(3, "2024-03-21 10:00", "product_view", product_id=2),   # never ordered
        ],
    )
    rows = shop.features()
    assert {c: r["views_without_purchase"] for c, r in rows.items()} == {1: 0, 2: 2, 3: 1}


def test_last_action_and_its_ties():
    shop = Shop(
        orders=[order(1, 1, "2024-03-20 10:00"), order(5, 5, "2024-03-25 10:00")],
        events=[
            event(1, "2024-03-20 10:00", "product_view"),   # same instant as the order: order wins
            event(2, "2024-03-25 09:00", "search"),
            event(2, "2024-03-25 09:00", "cart_add"),       # tie: cart_add before search
            event(2, "2024-03-30 09:00", "wishlist"),       # unknown type: not an action
            event(3, "2024-03-28 09:00", "page_view"),
            event(4, "2024-03-28 09:00", "page_view"),
            event(6, "2024-04-02 09:00", "page_view"),      # after as-of
            event(6, "2024-03-02 09:00", "email_click"),
            event(7, "1969-12-31 23:59:59", "checkout_start"),   # before 1970: a negative epoch
            event(7, "1969-12-31 23:59:59", "email_open"),
            event(7, "1969-12-30 10:00", "search"),
            event(8, "2024-03-27 09:00", "page_view"),      # tie with a review: page_view first
            event(9, "2024-03-27 09:00", "search"),         # tie with a review: review first
        ],
        reviews=[
            {"customer_id": 3, "created_at": "2024-03-29 09:00", "rating": 4.0, "kind": "review"},
            {"customer_id": 4, "created_at": "2024-03-30 09:00", "rating": 1.0, "kind": "complaint"},
            {"customer_id": 8, "created_at": "2024-03-27 09:00", "rating": 5.0, "kind": "review"},
            {"customer_id": 9, "created_at": "2024-03-27 09:00", "rating": 5.0, "kind": None},  # a review
            {"customer_id": 10, "created_at": "2024-03-26 09:00", "rating": 5.0, "kind": "review"},
            {"customer_id": 10, "created_at": "2024-03-26 09:00", "rating": 1.0, "kind": "complaint"},
        ],
        customers=[{"customer_id": c} for c in range(1, 11)],
    )
    rows = shop.features()
    got = {c: (r["last_action"], r["days_since_last_action"]) for c, r in rows.items()}
    assert got == {
        1: ("order", 11),          # Mar 20 -> Mar 31
        2: ("cart_add", 6),        # Mar 25
        3: ("review", 2),          # review Mar 29 after page view Mar 28
        4: ("complaint", 1),       # a review of kind complaint
        5: ("order", 6),
        6: ("email_click", 29),    # the page view after as-of is ignored
        7: ("checkout_start", 19814),   # 1969-12-31 -> 2024-03-31, tie: checkout before email
        8: ("page_view", 4),
        9: ("review", 4),
        10: ("complaint", 5),      # two reviews at one instant: complaint before review
    }
    assert rows[7]["has_abandoned_cart"] is True and rows[7]["days_since_cart_activity"] == 19814


def test_a_columns_file_builds_what_it_reads():
    """Building only the last action still runs the reviews and core passes it reads."""
    shop = Shop(orders=[order(1, 1, "2024-03-20 10:00")],
                events=[event(1, "2024-03-10 10:00", "page_view"), event(2, "2024-03-10 10:00", "page_view")],
                reviews=[{"customer_id": 2, "created_at": "2024-03-30 10:00", "rating": 4.0, "kind": "review"}])
    built = F.build_features(shop.con, AS_OF, shop.tables, shop.present_columns, only=["last_action"])
    assert built.columns == ("customer_id", "last_action")
    rows = dict(shop.con.execute("SELECT * FROM customer_features").fetchall())
    assert rows == {1: "order", 2: "review"}


def test_abandoned_cart_by_hand():
    shop = Shop(
        orders=[
            order(4, 4, "2024-03-20 10:00"),       # at the checkout instant
            order(5, 5, "2024-03-19 10:00"),       # before the cart
            order(6, 6, "2024-03-12 10:00"),       # between two cart events
            order(7, 7, "2024-04-02 10:00"),       # after as-of: ignored
        ],
        events=[
            event(1, "2024-03-30 23:00", "cart_add"),          # 25 h before the end of Mar 31
            event(2, "2024-03-31 00:00:00", "cart_add"),       # exactly 24 h before: abandoned
            event(3, "2024-03-31 00:00:01", "cart_add"),       # 1 s less than 24 h: not yet
            event(4, "2024-03-20 10:00", "checkout_start"),    # an order at it: bought
            event(5, "2024-03-20 10:00", "cart_add"),
            event(6, "2024-03-10 10:00", "cart_add"),
            event(6, "2024-03-15 10:00", "checkout_start"),    # the latest cart event is after the order
            event(7, "2024-03-10 10:00", "cart_add"),
            event(8, "2024-03-10 10:00", "page_view"),         # no cart at all
        ],
    )
    rows = shop.features()
    got = {c: (r["has_abandoned_cart"], r["days_since_cart_activity"]) for c, r in rows.items()}
    assert got == {
        1: (True, 1), 2: (True, 0), 3: (False, 0), 4: (False, 11),
        5: (True, 11), 6: (True, 16), 7: (True, 21), 8: (False, None),
    }


def test_viewed_pricier_before_buying():
    products = [
        {"product_id": 1, "category": "dress", "price": 50.0},
        {"product_id": 2, "category": "dress", "price": 80.0},
        {"product_id": 3, "category": "dress", "price": 40.0},
        {"product_id": 4, "category": "shoe", "price": 100.0},
    ]
    # Every customer buys dress 1 on Mar 10 09:00 (at 45, or at its list price 50 for customer 4);
    # the 7-day window is [Mar 3 09:00, Mar 10 09:00).
    orders = [order(c, c, "2024-03-10 09:00") for c in (1, 2, 3, 4, 5)]
    items = [{"order_id": c, "product_id": 1, "quantity": 1.0, "price": 45.0} for c in (1, 2, 3, 5)]
    items.append({"order_id": 4, "product_id": 1, "quantity": 1.0, "price": None})
    views = [
        event(1, "2024-03-05 10:00", "product_view", product_id=2),   # pricier dress, in window
        event(2, "2024-03-03 08:59", "product_view", product_id=2),   # a minute too early
        event(2, "2024-03-09 10:00", "product_view", product_id=4),   # pricier, other category
        event(2, "2024-03-09 10:00", "cart_add", product_id=2),       # not a view
        event(3, "2024-03-08 10:00", "product_view", product_id=3),   # cheaper dress
        event(3, "2024-03-08 11:00", "product_view", product_id=1),   # the same dress (list 50 > 45)
        event(4, "2024-03-09 10:00", "product_view", product_id=2),   # 80 > list price 50
        event(5, "2024-03-10 09:00", "product_view", product_id=2),   # at the order: not before
        event(6, "2024-03-09 10:00", "product_view", product_id=2),   # never bought
    ]
    shop = Shop(orders=orders, order_items=items, products=products, events=views)
    rows = shop.features()
    assert {c: r["viewed_pricier_before_buying"] for c, r in rows.items()} == {
        1: True, 2: False, 3: False, 4: True, 5: False, 6: False}


def test_main_device_and_os(mode_path):
    shop = Shop(
        orders=[
            order(1, 1, "2024-03-01 10:00", device="mobile"), order(2, 1, "2024-03-02 10:00", device="mobile"),
            order(3, 2, "2024-03-01 10:00", device="mobile"),
            order(4, 3, "2024-03-01 10:00", device=None),
        ],
        events=[
            # customer 1: desktop 3 events vs mobile 2 orders -> desktop; ios 2, android 2 -> android
            event(1, "2024-03-03 10:00", "page_view", device="desktop", os="ios"),
            event(1, "2024-03-04 10:00", "page_view", device="desktop", os="ios"),
            event(1, "2024-03-05 10:00", "page_view", device="desktop", os="android"),
            event(1, "2024-03-06 10:00", "page_view", device=None, os="android"),
            event(1, "2024-04-06 10:00", "page_view", device="tablet", os="ios"),   # after as-of
            # customer 2: mobile 1 order vs desktop 1 event -> tie -> desktop
            event(2, "2024-03-03 10:00", "page_view", device="desktop", os=None),
        ],
    )
    rows = shop.features()
    assert {c: (r["main_device"], r["main_os"]) for c, r in rows.items()} == {
        1: ("desktop", "android"), 2: ("desktop", None), 3: (None, None)}


def test_main_device_of_a_customer_whose_events_have_no_device(mode_path):
    """Every event of customer 4 lacks a device: the orders' device is still the pick (the
    events' per-value counts are 0, not NULL, which would spoil the sum with the orders')."""
    shop = Shop(orders=[order(1, 4, "2024-03-01 10:00", device="tablet"),
                        order(2, 5, "2024-03-01 10:00", device="mobile")],
                events=[event(4, "2024-03-02 10:00", "page_view", device=None, os="ios"),
                        event(5, "2024-03-02 10:00", "page_view", device="mobile", os="ios")])
    rows = shop.features()
    assert (rows[4]["main_device"], rows[5]["main_device"]) == ("tablet", "mobile")


def test_main_device_from_orders_alone(mode_path):
    rows = Shop(orders=[order(1, 1, "2024-03-01 10:00", device="tablet")]).features()
    assert rows[1]["main_device"] == "tablet"
    assert "main_os" not in rows[1]


# ---------------------------------------------------------------------------------------------
# Satisfaction, returns, profile


def test_complaints_reviews_and_rating():
    shop = Shop(
        events=[event(1, "2024-03-01 10:00", "complaint"), event(2, "2024-03-01 10:00", "page_view")],
        reviews=[
            {"customer_id": 1, "created_at": "2024-03-20 10:00", "rating": 1.0, "kind": "complaint"},
            {"customer_id": 1, "created_at": "2024-03-21 10:00", "rating": 5.0, "kind": "review"},
            {"customer_id": 1, "created_at": "2024-04-05 10:00", "rating": 1.0, "kind": "complaint"},  # after
            {"customer_id": 2, "created_at": "2024-03-21 10:00", "rating": None, "kind": "review"},
            {"customer_id": 2, "created_at": "2024-03-22 10:00", "rating": 4.0, "kind": "nps"},
            {"customer_id": 2, "created_at": None, "rating": 1.0, "kind": "review"},                   # undated
        ],
    )
    rows = shop.features()
    c1, c2 = rows[1], rows[2]
    assert (c1["complaints"], c1["days_since_last_complaint"]) == (2, 11)   # event Mar 1 + review Mar 20
    assert (c1["reviews"], c1["avg_rating"]) == (2, 3.0)                    # (1 + 5) / 2
    assert (c2["complaints"], c2["days_since_last_complaint"]) == (0, None)
    assert (c2["reviews"], c2["avg_rating"]) == (2, 4.0)                    # NULL rating ignored


def test_complaints_from_reviews_alone():
    shop = Shop(orders=[order(1, 1, "2024-03-01 10:00")],
                reviews=[{"customer_id": 1, "created_at": "2024-03-30 10:00", "rating": 2.0, "kind": "complaint"}])
    rows = shop.features()
    assert (rows[1]["complaints"], rows[1]["days_since_last_complaint"]) == (1, 1)
    assert "last_action" not in rows[1]
    assert shop.feature_set.unavailable["last_action"] == "needs events"


def test_returns():
    shop = Shop(
        orders=[order(1, 1, "2024-03-01 10:00"), order(2, 1, "2024-03-02 10:00"),
                order(3, 1, "2024-03-03 10:00"), order(4, 1, "2024-04-03 10:00"),
                order(5, 2, "2024-03-03 10:00")],
        customers=[{"customer_id": 3}],
        returns=[
            {"order_id": 1, "returned_at": "2024-03-05 10:00"},
            {"order_id": 1, "returned_at": "2024-03-06 10:00"},   # the same order twice: once
            {"order_id": 2, "returned_at": "2024-04-05 10:00"},   # returned after as-of
            {"order_id": 3, "returned_at": None},                 # undated return: counts
            {"order_id": 4, "returned_at": "2024-03-31 10:00"},   # its order is after as-of
        ],
    )
    rows = shop.features()
    assert (rows[1]["returned_orders"], rows[1]["return_rate"]) == (2, pytest.approx(2 / 3))   # orders 1, 3 of 3
    assert (rows[2]["returned_orders"], rows[2]["return_rate"]) == (0, 0.0)
    assert (rows[3]["returned_orders"], rows[3]["return_rate"]) == (0, None)


def test_profile_and_age():
    shop = Shop(
        customers=[
            {"customer_id": 1, "created_at": "2023-01-01 00:00", "country": "FR", "birth_date": "1990-04-01",
             "gender": "f", "email_opt_in": False, "city": "Lyon"},
            {"customer_id": 1, "created_at": "2024-03-01 00:00", "country": "DE", "birth_date": "1990-04-01",
             "gender": "f", "email_opt_in": True, "city": "Berlin"},      # the latest record wins
            {"customer_id": 2, "created_at": None, "country": "NL", "birth_date": "1990-03-31"},
            {"customer_id": 3, "created_at": "2024-04-05 00:00", "country": "US", "birth_date": "1980-01-01"},
            {"customer_id": 4, "created_at": "2024-01-01 00:00", "birth_date": "2025-01-01"},
        ],
        orders=[order(1, 2, "2024-01-01 10:00")],
        events=[event(3, "2024-03-30 10:00", "page_view")],
    )
    rows = shop.features()
    c1 = rows[1]
    assert (c1["country"], c1["city"], c1["gender"], c1["email_opt_in"]) == ("DE", "Berlin", "f", True)
    assert c1["age"] == 33                    # 34th birthday is tomorrow (Apr 1)
    assert c1["tenure_days"] == 30            # created Mar 1
    assert rows[2]["age"] == 34               # birthday on the as-of day
    assert rows[2]["tenure_days"] == 90       # no created_at: since the first order (Jan 1)
    # customer 3 was created after as-of: a customer through their event, but without a profile
    assert (rows[3]["country"], rows[3]["age"], rows[3]["tenure_days"]) == (None, None, 1)
    assert rows[4]["age"] is None             # born after as-of


# ---------------------------------------------------------------------------------------------
# Missing tables and columns


def test_orders_only():
    shop = Shop(orders=[order(1, 1, "2024-03-01 10:00", 10.0)])
    rows = shop.features()
    fs = shop.feature_set
    names = [f.name for f in fs.available]
    assert list(rows[1]) == ["customer_id", *names]
    for name in ("orders", "total_spent", "rfm_segment", "usage_level", "preferred_hour", "tenure_days"):
        assert name in names, name
    for name in ("product_views_30d", "visits_30d", "last_action", "has_abandoned_cart", "main_os",
                 "views_without_purchase", "email_opens_90d"):
        assert fs.unavailable[name] == "needs events", name
    assert fs.unavailable["complaints"] == "needs events or reviews"
    assert fs.unavailable["favorite_category"] == "needs order_items, products"
    assert fs.unavailable["viewed_pricier_before_buying"] == "needs events, order_items, products"
    assert fs.unavailable["country"] == "needs customers"
    assert fs.unavailable["return_rate"] == "needs returns"
    assert set(names) | set(fs.unavailable) == {f.name for f in F.FIELDS}
    assert not set(names) & set(fs.unavailable)


def test_a_missing_column_leaves_its_feature_out():
    # no discount, payment_method, channel or device: those columns exist as NULLs in the view
    shop = Shop(orders=[{"order_id": 1, "customer_id": 1, "ordered_at": "2024-03-01 10:00", "total": 5.0}])
    rows = shop.features()
    un = shop.feature_set.unavailable
    assert un["discount_share"] == un["full_price_share"] == "needs orders.discount"
    assert un["main_payment_method"] == "needs orders.payment_method"
    assert un["main_device"] == "needs orders.device or events.device"
    assert "discount_share" not in rows[1] and "main_device" not in rows[1]


def test_events_without_product_ids_fall_back():
    shop = Shop(
        orders=[order(1, 1, "2024-03-01 10:00")],
        order_items=[{"order_id": 1, "product_id": 1, "quantity": 1.0}],
        products=PRODUCTS,
        events=[event(1, "2024-03-20 10:00", "product_view"), event(2, "2024-03-20 10:00", "product_view")],
    )
    rows = shop.features()
    # without events.product_id the no-order_items rule applies: views of the last 30 days when no
    # order in them (customer 1 ordered 30 days ago: not within the last 30 days)
    assert {c: r["views_without_purchase"] for c, r in rows.items()} == {1: 1, 2: 1}
    assert shop.feature_set.unavailable["viewed_pricier_before_buying"] == "needs events.product_id"


def test_varchar_ids_and_column_types():
    shop = Shop(
        ids="VARCHAR",
        orders=[order("o1", "a", "2024-03-01 10:00", 10.0, discount=1.0, channel="web", device="mobile",
                      payment_method="card")],
        customers=[{"customer_id": "b", "created_at": "2024-01-01 00:00", "country": "DE", "city": "X",
                    "birth_date": "2000-01-01", "gender": "m", "email_opt_in": True}],
        order_items=[{"order_id": "o1", "product_id": "p1", "quantity": 1.0, "price": 10.0}],
        products=[{"product_id": "p1", "category": "c", "price": 10.0, "brand": "b"}],
        returns=[{"order_id": "o1", "returned_at": "2024-03-05 00:00", "amount": 1.0, "reason": "r"}],
    )  # no events, no reviews
    rows = shop.features()
    assert sorted(rows) == ["a", "b"]
    types = dict(shop.con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'customer_features'"
    ).fetchall())
    assert types.pop("customer_id") == "VARCHAR"
    assert types == {f.name: f.type for f in shop.feature_set.available}


def test_full_shop_column_types_and_no_leftovers():
    shop = Shop(
        orders=[order(1, 1, "2024-03-01 10:00", 10.0, discount=1.0, channel="web", device="m", payment_method="c")],
        customers=[{"customer_id": 1, "created_at": "2024-01-01 00:00", "country": "DE", "city": "X",
                    "birth_date": "2000-01-01", "gender": "m", "email_opt_in": True}],
        order_items=[{"order_id": 1, "product_id": 1, "quantity": 1.0, "price": 10.0}],
        products=PRODUCTS,
        events=[event(1, "2024-03-02 10:00", "page_view", product_id=1, device="m", os="ios", session_id="s")],
        returns=[{"order_id": 1, "returned_at": "2024-03-05 00:00", "amount": 1.0, "reason": "r"}],
        reviews=[{"customer_id": 1, "created_at": "2024-03-05 00:00", "rating": 3.0, "kind": "review"}],
    )
    shop.features()
    fs = shop.feature_set
    # the fields a Python fit computes (the predictive models) are DuckDB's only
    computed = {f.name for f in F.FIELDS if catalog.load_query(f"{f.family}.sql").computed_by}
    expected = [f for f in F.FIELDS if Shop.engine == "duckdb" or f.name not in computed]
    assert set(fs.unavailable) == ({f.name for f in F.FIELDS} - {f.name for f in expected})
    assert [f.name for f in fs.available] == [f.name for f in expected]
    types = dict(shop.con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'customer_features'"
    ).fetchall())
    assert {k: v for k, v in types.items() if k != "customer_id"} == {f.name: f.type for f in expected}
    left = {r[0] for r in shop.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    # intermediate tables are dropped; the first event day of each customer is kept for the
    # connection's life: every as-of date of a trend reads it (universe.duckdb.sql)
    assert left == set(CONTRACT) | {"customer_features"} | ({"events_first_day"} if Shop.engine == "duckdb" else set())


def test_empty_bases_match_the_real_ones():
    """The stand-in for a missing table has exactly the columns and types of its base file."""
    shop = Shop(
        orders=[order(1, 1, "2024-03-01 10:00")],
        customers=[{"customer_id": 1}], events=[event(1, "2024-03-01 10:00", "x")],
        reviews=[{"customer_id": 1, "created_at": "2024-03-01 10:00"}],
    )
    con = shop.con
    con.execute(F.render(F.load_query("base_orders.sql").sql, AS_OF))
    for table, (name, columns) in catalog._EMPTY_BASES.items():
        con.execute(F.render(F.load_query(f"base_{table}.sql").sql, AS_OF))
        real = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {name}").fetchall()]
        con.execute(f"CREATE TEMP TABLE empty_{name} ({columns.format(id='BIGINT')})")
        empty = [(r[0], r[1]) for r in con.execute(f"DESCRIBE empty_{name}").fetchall()]
        assert real == empty, table


# ---------------------------------------------------------------------------------------------
# default_as_of, field_stats, catalogue


def test_default_as_of():
    shop = Shop(orders=[order(1, 1, "2024-03-01 10:00"), order(2, 1, None), order(3, None, "2024-05-01 10:00")],
                events=[event(1, "2024-03-05 23:59", "page_view"), event(1, None, "page_view")])
    assert F.default_as_of(shop.con, shop.tables) == date(2024, 3, 5)
    assert F.default_as_of(shop.con, {"orders"}) == date(2024, 3, 1)
    assert F.default_as_of(Shop(orders=[]).con, {"orders"}) is None


def test_data_dates_run_from_the_first_order_to_the_last_activity():
    shop = Shop(orders=[order(1, 1, "2024-03-01 10:00"), order(2, 1, "2024-02-10 09:00"), order(3, None, "2024-01-01 10:00")],
                events=[event(1, "2024-01-05 23:59", "page_view"), event(1, "2024-03-05 23:59", "page_view")])
    assert F.data_dates(shop.con, shop.tables) == (date(2024, 2, 10), date(2024, 3, 5))   # an event is no order
    assert F.data_dates(shop.con, {"orders"}) == (date(2024, 2, 10), date(2024, 3, 1))
    events_only = Shop(orders=[], events=[event(1, "2024-03-05 10:00", "page_view")])
    assert F.data_dates(events_only.con, events_only.tables) == (None, date(2024, 3, 5))


def test_field_stats():
    shop = Shop(orders=[order(1, 1, "2024-03-01 10:00", 10.0, channel="web"),
                        order(2, 2, "2024-03-02 10:00", 30.0, channel="web"),
                        order(3, 3, "2024-03-03 10:00", 20.0, channel="app")])
    shop.features()
    stats = F.field_stats(shop.con, shop.feature_set)
    assert list(stats) == [f.name for f in shop.feature_set.available]
    assert stats["total_spent"] == {"non_null": 3, "min": 10.0, "max": 30.0}
    assert stats["main_channel"] == {"non_null": 3, "top": [("web", 2), ("app", 1)]}
    assert stats["first_order_at"]["min"] == datetime(2024, 3, 1, 10, 0)


def test_catalogue_is_complete_and_documented():
    names = [f.name for f in F.FIELDS]
    assert len(names) == len(set(names))
    for f in F.FIELDS:
        assert f.description.endswith(".") and ". " not in f.description, f.name   # one sentence
        assert f.type in {"BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN", "TIMESTAMP"}
        assert f.family in catalog._FAMILIES
        for file in catalog._FAMILIES[f.family]:
            assert f.name in read_query(f"features/{file}"), (f.name, file)


def test_as_of_rejects_non_dates():
    with pytest.raises(TypeError):
        F.render("SELECT :as_of", "2024-01-01; DROP TABLE orders")  # type: ignore[arg-type]
    assert F.render("SELECT :as_of, :as_of_x", datetime(2024, 1, 2, 5)) == "SELECT DATE '2024-01-02', :as_of_x"


# ---------------------------------------------------------------------------------------------
# The SQL files themselves


SQL_FILES = sorted(p.name for p in (queries_dir() / "features").glob("*.sql"))


def test_every_family_file_is_used():
    used = {file for family in catalog._FAMILIES for engine in catalog.ENGINES
            for file in catalog._candidates(family, engine)}
    over_dates = {file for file in SQL_FILES if file.endswith(catalog.DATES_SUFFIX)}
    assert over_dates and all(file.removesuffix(catalog.DATES_SUFFIX) + ".sql" in used for file in over_dates)
    assert set(SQL_FILES) == used | over_dates | set(catalog._BASES.values()) | {"base_asof.sql"}
    assert all(not file.endswith(catalog.OVERRIDE_SUFFIX)
               for family in catalog._FAMILIES for file in catalog._candidates(family, "reference"))
    with pytest.raises(ValueError, match="unknown engine"):
        catalog._candidates("core", "spark")


@pytest.mark.parametrize("file", SQL_FILES)
def test_only_base_files_see_the_as_of_date(file):
    sql = read_query(f"features/{file}")
    if ":as_of" in sql:
        assert file.startswith("base_")
    assert "current_date" not in sql.lower() and "now()" not in sql.lower()


def test_rendered_date_is_inlined_once_per_use():
    sql = F.render(F.load_query("base_orders.sql").sql, date(2024, 2, 29))
    assert ":as_of" not in sql and "DATE '2024-02-29'" in sql
