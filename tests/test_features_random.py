"""The core features of a seeded random shop, recomputed in plain Python and compared exactly.

Totals are whole numbers so that every sum is exact in floating point; days and ranks follow
the definitions in DESIGN.md ("As-of date and customers", "Core features").
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from test_features import Shop

from segtui.core.features.catalog import ENGINES

AS_OF = date(2024, 3, 31)
CORE = ("orders", "total_spent", "avg_order_value", "first_order_at", "last_order_at",
        "days_since_last_order", "days_since_first_order", "avg_days_between_orders",
        "overdue_ratio", "spend_percentile")


def random_shop(rng: random.Random):
    start = datetime(2023, 1, 1)
    span = int((datetime(2024, 5, 31) - start).total_seconds())
    orders, events = [], []
    next_id = 1
    for cid in range(1, 301):
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 5, 8])):
            at = start + timedelta(seconds=rng.randrange(span))
            if rng.random() < 0.1:          # several orders on the same day
                at = at.replace(day=1)
            total = None if rng.random() < 0.05 else float(rng.randint(-50, 500))
            orders.append({"order_id": next_id, "customer_id": cid, "ordered_at": at, "total": total})
            if rng.random() < 0.05:          # a second row of the same order
                orders.append({"order_id": next_id, "customer_id": cid, "ordered_at": at, "total": 1.0})
            next_id += 1
        if rng.random() < 0.2:
            events.append({"customer_id": cid, "occurred_at": start + timedelta(seconds=rng.randrange(span)),
                           "type": "page_view"})
    for _ in range(20):                      # rows the features must ignore
        orders.append({"order_id": next_id, "customer_id": None, "ordered_at": start, "total": 99.0})
        orders.append({"order_id": next_id + 1, "customer_id": rng.randint(1, 300), "ordered_at": None,
                       "total": 99.0})
        next_id += 2
    return orders, events


def expected_core(orders, events, as_of: date) -> dict:
    end = datetime.combine(as_of, datetime.min.time()) + timedelta(days=1)
    valid = [o for o in orders if o["customer_id"] is not None and o["ordered_at"] is not None
             and o["ordered_at"] < end]
    universe = {o["customer_id"] for o in valid} | {
        e["customer_id"] for e in events if e["occurred_at"] < end}
    spent = {}
    result = {}
    for cid in universe:
        mine = [o for o in valid if o["customer_id"] == cid]
        n = len({o["order_id"] for o in mine})
        total = sum((o["total"] or 0.0) for o in mine) if mine else 0.0
        row = dict.fromkeys(CORE)
        row.update(orders=n, total_spent=total)
        if n:
            spent[cid] = total
            first = min(o["ordered_at"] for o in mine)
            last = max(o["ordered_at"] for o in mine)
            since_first = (as_of - first.date()).days
            since_last = (as_of - last.date()).days
            avg_gap = float(since_first - since_last) / (n - 1) if n >= 2 else None
            row.update(
                avg_order_value=total / n, first_order_at=first, last_order_at=last,
                days_since_first_order=since_first, days_since_last_order=since_last,
                avg_days_between_orders=avg_gap,
                overdue_ratio=since_last / avg_gap if avg_gap else None,
            )
        result[cid] = row
    buyers = len(spent)
    for cid, total in spent.items():
        rank = 1 + sum(1 for other in spent.values() if other < total)
        result[cid]["spend_percentile"] = 100 * ((rank - 1) / (buyers - 1) if buyers > 1 else 0.0)
    return result


@pytest.mark.parametrize("engine", ENGINES)
def test_core_features_match_an_independent_recomputation(engine):
    rng = random.Random(7)
    orders, events = random_shop(rng)
    shop = Shop(orders=orders, events=events)
    shop.engine = engine
    for as_of in (AS_OF, date(2023, 7, 15)):
        rows = shop.features(as_of)
        expected = expected_core(orders, events, as_of)
        assert len(expected) > 150
        got = {cid: {k: row[k] for k in CORE} for cid, row in rows.items()}
        assert got == expected
