"""The built-in segment library, checked against independent Python predicates.

A seeded random customer_features table (NULLs included) is counted once through the segment
files and once through the predicates below, written from the segment descriptions. SQL's NULL
rule is spelled out: a comparison with a missing value is not a match.
"""

from __future__ import annotations

import random

import duckdb
import pyarrow as pa
import pytest

from segtui.core.segments import SegmentCatalog, count_where, load_segments
from segtui.resources import queries_dir

COLUMNS = {
    "orders": "BIGINT", "full_price_share": "DOUBLE", "discount_share": "DOUBLE", "spend_percentile": "DOUBLE",
    "overdue_ratio": "DOUBLE", "f_score": "BIGINT", "m_score": "BIGINT", "avg_days_between_orders": "DOUBLE",
    "days_since_first_order": "BIGINT", "days_since_last_order": "BIGINT", "days_since_last_complaint": "BIGINT",
    "reviews": "BIGINT", "avg_rating": "DOUBLE", "return_rate": "DOUBLE", "email_opt_in": "BOOLEAN",
    "email_opens_90d": "BIGINT", "email_clicks_90d": "BIGINT", "has_abandoned_cart": "BOOLEAN",
    "days_since_cart_activity": "BIGINT", "visits_30d": "BIGINT", "views_without_purchase": "BIGINT",
    "usage_level": "VARCHAR", "viewed_pricier_before_buying": "BOOLEAN", "preferred_hour": "BIGINT",
    "weekend_share": "DOUBLE", "main_device": "VARCHAR", "main_os": "VARCHAR", "category_count": "BIGINT",
    "holiday_share": "DOUBLE", "rfm_segment": "VARCHAR", "p_alive": "DOUBLE", "expected_orders_30d": "DOUBLE",
    "clv_percentile": "DOUBLE",
}
ARROW = {"BIGINT": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(), "VARCHAR": pa.string()}
RFM = ["Champions", "Loyal customers", "Potential loyalists", "New customers", "Promising", "Need attention",
       "About to sleep", "At risk", "Can't lose them", "Hibernating"]


def _value(rng: random.Random, name: str, ctype: str):
    if rng.random() < 0.12:
        return None
    if name == "usage_level":
        return rng.choice(["heavy", "medium", "light", "none"])
    if name == "main_device":
        return rng.choice(["mobile", "Mobile", "desktop", "tablet"])
    if name == "main_os":
        return rng.choice(["iOS", "ios", "Android", "Windows"])
    if name == "rfm_segment":
        return rng.choice(RFM)
    if ctype == "BOOLEAN":
        return rng.random() < 0.5
    if name in ("f_score", "m_score"):
        return rng.randint(1, 5)
    if name == "preferred_hour":
        return rng.randint(0, 23)
    if name == "avg_rating":
        return rng.choice([1, 1.5, 2, 2.5, 3, 4, 4.5, 5])
    if name == "spend_percentile":
        return rng.choice([0, 10, 19.99, 20, 50, 79.9, 80, 89.99, 90, 100])
    if name in ("p_alive", "expected_orders_30d"):
        return rng.choice([0, 0.1, 0.29, 0.3, 0.49, 0.5, 0.51, 0.9, 1, 2.5])
    if name == "clv_percentile":
        return rng.choice([0, 50, 89.99, 90, 95, 100])
    if name == "overdue_ratio":
        return rng.choice([0.5, 1, 1.5, 1.99, 2, 3.5, 10])
    if ctype == "DOUBLE":
        return rng.choice([0, 0.25, 0.4, 0.5, 0.6, 0.75, 0.8, 1])
    if name.startswith("days_since"):
        return rng.choice([0, 14, 15, 29, 30, 31, 179, 180, 365, 366, 800])
    return rng.choice([0, 1, 2, 3, 4, 5, 6])


@pytest.fixture(scope="module")
def table():
    rng = random.Random(20261124)
    rows = [{n: _value(rng, n, t) for n, t in COLUMNS.items()} for _ in range(3000)]
    con = duckdb.connect()
    data = pa.table({
        "customer_id": pa.array(range(len(rows)), pa.int64()),
        **{n: pa.array([r[n] for r in rows], ARROW[t]) for n, t in COLUMNS.items()},
    })
    con.register("fixture", data)
    con.execute("CREATE TABLE customer_features AS SELECT * FROM fixture")
    return con, rows


def ok(*values) -> bool:
    return all(v is not None for v in values)


PREDICATES = {
    "Best customers": lambda r: ok(r["orders"], r["full_price_share"], r["spend_percentile"])
    and r["orders"] >= 5 and r["full_price_share"] >= 0.8 and r["spend_percentile"] >= 90,
    "High value": lambda r: ok(r["spend_percentile"]) and r["spend_percentile"] >= 80,
    "Low value": lambda r: ok(r["orders"], r["spend_percentile"]) and r["orders"] >= 1 and r["spend_percentile"] < 20,
    "Valuable and slipping": lambda r: ok(r["spend_percentile"], r["overdue_ratio"])
    and r["spend_percentile"] >= 80 and r["overdue_ratio"] >= 1.5,
    "Loyal low-basket": lambda r: ok(r["f_score"], r["m_score"]) and r["f_score"] >= 4 and r["m_score"] <= 2,
    "Regular replenishers": lambda r: ok(r["orders"], r["avg_days_between_orders"], r["overdue_ratio"])
    and r["orders"] >= 4 and r["avg_days_between_orders"] <= 45 and r["overdue_ratio"] <= 1.5,
    "New customers": lambda r: ok(r["orders"], r["days_since_first_order"])
    and r["orders"] >= 1 and r["days_since_first_order"] <= 30,
    "One-time buyers": lambda r: ok(r["orders"], r["days_since_first_order"])
    and r["orders"] == 1 and r["days_since_first_order"] > 30,
    "Late for their own rhythm": lambda r: ok(r["orders"], r["overdue_ratio"], r["days_since_last_order"])
    and r["orders"] >= 3 and r["overdue_ratio"] >= 2 and r["days_since_last_order"] < 180,
    "Lapsed": lambda r: ok(r["orders"], r["days_since_last_order"])
    and r["orders"] >= 2 and 180 <= r["days_since_last_order"] <= 365,
    "Inactive": lambda r: ok(r["orders"], r["days_since_last_order"])
    and r["orders"] >= 1 and r["days_since_last_order"] > 365,
    "Recent complainers": lambda r: ok(r["days_since_last_complaint"]) and r["days_since_last_complaint"] <= 30,
    "Unhappy reviewers": lambda r: ok(r["reviews"], r["avg_rating"]) and r["reviews"] >= 1 and r["avg_rating"] <= 2,
    "Happy reviewers": lambda r: ok(r["reviews"], r["avg_rating"]) and r["reviews"] >= 1 and r["avg_rating"] >= 4.5,
    "High returners": lambda r: ok(r["orders"], r["return_rate"]) and r["orders"] >= 3 and r["return_rate"] >= 0.4,
    "Email unengaged": lambda r: r["email_opt_in"] is True and r["email_opens_90d"] == 0 and r["email_clicks_90d"] == 0,
    "Abandoned cart": lambda r: r["has_abandoned_cart"] is True and ok(r["days_since_cart_activity"])
    and r["days_since_cart_activity"] <= 14,
    "Window shoppers": lambda r: r["orders"] == 0 and ok(r["visits_30d"]) and r["visits_30d"] >= 2,
    "Viewed but not bought": lambda r: ok(r["views_without_purchase"]) and r["views_without_purchase"] >= 3,
    "Bargain hunters": lambda r: ok(r["orders"], r["discount_share"]) and r["orders"] >= 3 and r["discount_share"] >= 0.6,
    "Full-price buyers": lambda r: ok(r["orders"], r["full_price_share"]) and r["orders"] >= 3 and r["full_price_share"] == 1,
    "Heavy users": lambda r: r["usage_level"] == "heavy",
    "Medium users": lambda r: r["usage_level"] == "medium",
    "Light users": lambda r: r["usage_level"] == "light",
    "Missed upsell": lambda r: r["viewed_pricier_before_buying"] is True,
    "Lunch-time shoppers": lambda r: ok(r["orders"], r["preferred_hour"]) and r["orders"] >= 2 and 11 <= r["preferred_hour"] <= 13,
    "Evening shoppers": lambda r: ok(r["orders"], r["preferred_hour"]) and r["orders"] >= 2 and 18 <= r["preferred_hour"] <= 22,
    "Weekend shoppers": lambda r: ok(r["orders"], r["weekend_share"]) and r["orders"] >= 3 and r["weekend_share"] >= 0.6,
    "Mobile-first": lambda r: ok(r["main_device"]) and r["main_device"].lower() == "mobile",
    "iOS users": lambda r: ok(r["main_os"]) and r["main_os"].lower() == "ios",
    "Desktop users": lambda r: ok(r["main_device"]) and r["main_device"].lower() == "desktop",
    "Single-category fans": lambda r: ok(r["orders"], r["category_count"]) and r["orders"] >= 3 and r["category_count"] == 1,
    "Cross-category buyers": lambda r: ok(r["category_count"]) and r["category_count"] >= 4,
    "Holiday shoppers": lambda r: ok(r["orders"], r["holiday_share"]) and r["orders"] >= 2 and r["holiday_share"] >= 0.75,
    **{f"RFM: {name}": (lambda n: lambda r: r["rfm_segment"] == n)(name) for name in RFM},
    "Likely lost": lambda r: ok(r["orders"], r["p_alive"]) and r["orders"] >= 2 and r["p_alive"] < 0.3,
    "Likely to buy in the next 30 days": lambda r: ok(r["expected_orders_30d"]) and r["expected_orders_30d"] >= 0.5,
    "Most valuable next year": lambda r: ok(r["clv_percentile"]) and r["clv_percentile"] >= 90,
}


def test_every_builtin_segment_matches_its_independent_predicate(table):
    con, rows = table
    segments = load_segments(queries_dir() / "segments", None)
    assert all(s.error is None for s in segments), [(s.name, s.error) for s in segments if s.error]
    assert {s.name for s in segments} == set(PREDICATES), "a segment without a predicate here, or the reverse"
    tables = {"orders", "customers", "order_items", "products", "events", "returns", "reviews"}
    catalog = SegmentCatalog(segments, {"customer_id": "BIGINT", **COLUMNS}, {}, tables)
    for compiled in catalog.compiled:
        assert compiled.usable, (compiled.name, compiled.error, compiled.reason)
        expected = sum(1 for r in rows if PREDICATES[compiled.name](r))
        assert count_where(con, compiled.sql) == expected, compiled.name
        assert 0 < expected < len(rows), f"{compiled.name}: the fixture does not exercise it"


def test_library_covers_the_groups_and_has_descriptions():
    segments = load_segments(queries_dir() / "segments", None)
    assert len(segments) >= 30
    groups = {s.group for s in segments}
    assert {"Value", "Loyalty", "Lifecycle", "Risk", "Behaviour", "Timing", "Channel & device",
            "Preferences", "Occasions", "RFM", "Predicted"} <= groups
    for s in segments:
        assert s.description.endswith(".") and len(s.description) > 30, s.name


def test_rfm_segments_partition_the_buyers(table):
    con, rows = table
    segments = [s for s in load_segments(queries_dir() / "segments", None) if s.group == "RFM"]
    catalog = SegmentCatalog(segments, {"customer_id": "BIGINT", **COLUMNS}, {}, {"orders"})
    total = sum(count_where(con, c.sql) for c in catalog.compiled)
    assert total == count_where(con, "rfm_segment IS NOT NULL")
