"""Money as people write it: each notation read exactly without a mapping, the notation `check`
says it read, and one diagnosis (with a mapping line that works as printed) for a column that
cannot be read, the same from `check`, `count` and `open`.

Every shop is a tiny hand-made CSV; the expected amounts are worked out by hand.
"""

from __future__ import annotations

import json

import pytest

from conftest import assert_one_line_error, make_csv_folder, make_duckdb, run_cli
from segtui.core import money
from segtui.core.check import check_shop
from segtui.core.source import open_source

NBSP, NNBSP = "\u00a0", "\u202f"


def orders_csv(totals: list[str], header: str = "total", customers: list[int] | None = None) -> str:
    """orders.csv with one order per total (order_id 1, 2, ...), every value quoted."""
    customers = customers or [10] * len(totals)
    rows = [f'{i},{c},2026-01-0{i} 10:00,"{t}"' for i, (c, t) in enumerate(zip(customers, totals), start=1)]
    return f'order_id,customer_id,ordered_at,"{header}"\n' + "\n".join(rows) + "\n"


def shop_folder(tmp_path, totals, header="total", customers=None, mapping=None):
    files = {"orders.csv": orders_csv(totals, header, customers)}
    if mapping is not None:
        files["segtui.toml"] = mapping
    return make_csv_folder(tmp_path / "shop", files)


def totals_of(folder) -> list[float | None]:
    shop = open_source(folder)
    try:
        return [row[0] for row in shop.con.execute("SELECT total FROM orders ORDER BY order_id").fetchall()]
    finally:
        shop.close()


@pytest.mark.parametrize("written, expected", [
    (["€37,32", "€5,00"], [37.32, 5.0]),
    (["37,32 €", "1.234,56 €"], [37.32, 1234.56]),
    (["1.234,56", "12,00"], [1234.56, 12.0]),
    (["$1,234.56", "$5.00"], [1234.56, 5.0]),
    (["1 234,56", "7,50"], [1234.56, 7.5]),
    ([f"1{NBSP}234,56", "7,50"], [1234.56, 7.5]),
    ([f"1{NNBSP}234,56", f"2{NNBSP}000{NNBSP}000,01"], [1234.56, 2000000.01]),
    (["(12.00)", "30.00"], [-12.0, 30.0]),
    (["(12,00 €)", "40,00 €"], [-12.0, 40.0]),
    (["-€5,50", "€3,20"], [-5.5, 3.2]),
    (["37.32", "-5"], [37.32, -5.0]),
    (["37,32", "5"], [37.32, 5.0]),
    (["CHF 1'234.50", "CHF 20.00"], [1234.5, 20.0]),
    (["USD 12.00", "USD 1,000.00"], [12.0, 1000.0]),
    (["12,00 EUR", "3,50 EUR"], [12.0, 3.5]),
    (["£5.99", "£12"], [5.99, 12.0]),
    (["¥1,234,567", "¥500"], [1234567.0, 500.0]),
    (["$5", "$12"], [5.0, 12.0]),
    (["1,234", "37,32"], [1.234, 37.32]),  # '1,234' alone reads two ways; '37,32' says the comma is decimal
    (["1,234", "$5.50"], [1234.0, 5.5]),  # ... and '$5.50' says it separates thousands
    (["1.234", "5,50"], [1234.0, 5.5]),
], ids=lambda v: "|".join(v) if isinstance(v, list) and isinstance(v[0], str) else None)
def test_every_notation_is_read_exactly(tmp_path, written, expected):
    """The DOUBLE read is the one the plain decimal casts to: equality, no tolerance."""
    assert totals_of(shop_folder(tmp_path, written)) == expected


def test_every_money_column_is_read_not_only_total(tmp_path):
    folder = make_csv_folder(tmp_path / "shop", {
        "orders.csv": 'order_id,customer_id,ordered_at,total,discount\n1,10,2026-01-01,"€37,32","€1,50"\n',
        "order_items.csv": 'order_id,product_id,quantity,price\n1,7,1,"12,40 €"\n',
        "products.csv": 'product_id,category,price\n7,shoes,"1.299,00 €"\n',
    })
    shop = open_source(folder)
    assert shop.con.execute("SELECT total, discount FROM orders").fetchall() == [(37.32, 1.5)]
    assert shop.con.execute("SELECT price FROM order_items").fetchall() == [(12.4,)]
    assert shop.con.execute("SELECT price FROM products").fetchall() == [(1299.0,)]


def test_text_money_in_a_duckdb_file_is_read_too(tmp_path):
    db = make_duckdb(tmp_path / "shop.duckdb", {"orders": (
        "SELECT * FROM (VALUES (1, 10, TIMESTAMP '2026-01-01', '1 234,56 €'), (2, 11, TIMESTAMP '2026-01-02', '(5,00 €)')) "
        "t(order_id, customer_id, ordered_at, total)")})
    assert totals_of(db) == [1234.56, -5.0]


def test_an_amount_past_the_csv_sniffers_sample_is_read_in_the_columns_notation(tmp_path):
    """DuckDB types a CSV column from its first 20,480 rows: all '12.50', so DOUBLE. The
    '$1234.56' and '1 234.56' after them are the same decimal-point notation, not NULL."""
    rows = "".join(f"{i},{i % 100},2026-01-01,12.50\n" for i in range(1, 30_001))
    folder = make_csv_folder(tmp_path / "shop", {
        "orders.csv": "order_id,customer_id,ordered_at,total\n" + rows + "30001,7,2026-01-02,$1234.56\n"
                      "30002,7,2026-01-02,1 234.56\n30003,7,2026-01-02,n/a\n",
    })
    shop = open_source(folder)
    assert shop.tables["orders"].raw_columns["total"] == "DOUBLE"
    assert shop.con.execute("SELECT total FROM orders WHERE order_id > 30000 ORDER BY order_id").fetchall() == [
        (1234.56,), (1234.56,), (None,)]


def test_spend_features_sum_the_amounts_read(tmp_path):
    """count goes through the features: 37.32 + 1,234.56 for customer 10, 5.00 for 11."""
    folder = shop_folder(tmp_path, ["€37,32", "€1.234,56", "€5,00"], customers=[10, 10, 11])
    result = run_cli("count", str(folder), "--where", "total_spent > 1271 AND total_spent < 1272")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_check_says_which_notation_it_read(tmp_path):
    folder = shop_folder(tmp_path, ["€37,32", "€5,00"])
    result = run_cli("check", str(folder))
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "orders.total (column 'total' in orders.csv): read as decimal comma with € sign (e.g. '€37,32' → 37.32)" in text
    data = json.loads(run_cli("check", str(folder), "--json").stdout)
    assert data["money"] == [{"table": "orders", "column": "total", "source": "column 'total' in orders.csv",
                              "notation": "decimal comma with € sign", "example": "€37,32", "value": 37.32}]


def test_check_names_thousands_separators_signs_and_negatives(tmp_path):
    folder = shop_folder(tmp_path, ["1.234,56 €", "(12,00 €)", "3,00 €"])
    (note,) = check_shop(open_source(folder)).money
    assert str(note) == ("orders.total (column 'total' in orders.csv): read as decimal comma with '.' for thousands, "
                         "€ sign and (…) for negatives (e.g. '1.234,56 €' → 1234.56)")


def test_plain_numbers_need_no_reading_and_are_not_mentioned(tmp_path):
    folder = shop_folder(tmp_path, ["37.32", "-5", "12"])
    assert check_shop(open_source(folder)).money == []


@pytest.mark.parametrize("written", [["5", "12", "oops"], ["12.50", "n/a"]])
def test_plain_numbers_with_a_stray_word_keep_their_reading_and_the_word_is_reported(tmp_path, written):
    folder = shop_folder(tmp_path, written)
    report = check_shop(open_source(folder))
    assert report.money == [] and report.usable
    assert [(p.problem, p.count, p.hint) for p in report.problems] == [("non-numeric total", 1, None)]


def test_a_thousands_separator_past_the_sample_of_plain_numbers_gets_the_line_that_reads_it(tmp_path, monkeypatch):
    """The first rows cast plainly, so nothing is converted; '$1,234.50' further down is NULL,
    and the hint reads it and every plain value alike."""
    monkeypatch.setattr(money, "SAMPLE_ROWS", 2)
    folder = shop_folder(tmp_path, ["12.50", "5", "$1,234.50"])
    (problem,) = check_shop(open_source(folder)).problems
    assert problem.hint == ("orders.total is column 'total' in orders.csv, and values like '$1,234.50' have a currency "
                            "sign or thousands separators: in segtui.toml, [tables.orders] total = \"parse_money(total, '.')\"")
    follow(problem.hint, folder)
    assert totals_of(folder) == [12.5, 5.0, 1234.5]


def test_a_value_in_another_notation_past_the_sample_is_null_and_reported_not_misread(tmp_path, monkeypatch):
    """Decided from the first rows ('€37,32', '€5,00': decimal comma), the '$1.50' further down
    is not read as 150: it is NULL, counted and shown by check."""
    monkeypatch.setattr(money, "SAMPLE_ROWS", 2)
    folder = shop_folder(tmp_path, ["€37,32", "€5,00", "$1.50"])
    assert totals_of(folder) == [37.32, 5.0, None]
    report = check_shop(open_source(folder))
    assert [(p.problem, p.count, p.example, p.hint) for p in report.problems] == [("non-numeric total", 1, "$1.50", None)]
    assert report.usable


def refusals(folder) -> dict[str, str]:
    """The one diagnosis as check (its verdict), count and open (their stderr line) give it."""
    check = run_cli("check", str(folder), "--json")
    assert check.returncode == 1, check.stderr
    said = {"check": json.loads(check.stdout)["verdict"]}
    for command, extra in (("count", ["--where", "orders >= 1"]), ("open", [])):
        line = assert_one_line_error(run_cli(command, str(folder), *extra, timeout=60), 1)
        said[command] = line.removeprefix("segtui: error: ")
    return said


def follow(hint_line: str, folder) -> None:
    """Do literally what the message says: put its line under [tables.orders] in segtui.toml."""
    line = hint_line.split("in segtui.toml, [tables.orders] ", 1)[1]
    (folder / "segtui.toml").write_text(f"[tables.orders]\n{line}\n", encoding="utf-8")


@pytest.mark.parametrize("case", ["ambiguous", "mixed"])
def test_a_column_that_cannot_be_read_gets_one_message_whose_mapping_works_as_printed(tmp_path, case):
    """Ambiguous: '1,234', '2,000', '5,000' read as 1.234 or 1234 alike; the message proposes
    thousands, so customer 10 spent 1234 + 2000 = 3234 and 11 spent 5000. Mixed: '€37,32' and
    '€12,50' against '$1.50'; the message proposes the decimal comma of the majority, so 10
    spent 49.82 and 11's '$1.50' is NULL (an order of 0), reported by check."""
    if case == "ambiguous":
        folder = shop_folder(tmp_path, ["1,234", "2,000", "5,000"], header="Total", customers=[10, 10, 11])
        column, expected_sql = "column 'Total' in orders.csv", "total = \"parse_money(Total, '.')\""
        trouble = "'1,234' may be 1234 or 1.234"
        question, answer = "total_spent = 3234", "1"
    else:
        folder = shop_folder(tmp_path, ["€37,32", "€12,50", "$1.50"], header="Betrag (EUR)", customers=[10, 10, 11],
                             mapping='[tables.orders]\ntotal = "\\"Betrag (EUR)\\""\n')
        column, expected_sql = "column 'Betrag (EUR)' in orders.csv", "total = \"parse_money(\\\"Betrag (EUR)\\\", ',')\""
        trouble = "its values disagree on the decimal mark ('€12,50' has a decimal comma, '$1.50' a decimal point)"
        question, answer = "total_spent > 49.8 AND total_spent < 49.9", "1"

    said = refusals(folder)
    assert said["check"] == said["count"] == said["open"]
    message = said["check"]
    assert message.startswith(f"not usable: no order has a readable total; orders.total is {column}, and ")
    assert trouble in message and message.endswith(expected_sql)
    assert "amount" not in message  # the name of a column the file does not have

    follow(message, folder)
    result = run_cli("count", str(folder), "--where", question)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == answer
    check = run_cli("check", str(folder))
    assert check.returncode == 0 and "usable:" in check.stdout


def test_a_column_that_holds_no_amounts_is_named_and_refused_alike(tmp_path):
    folder = shop_folder(tmp_path, ["abc", "n/a"], header="Summe",
                         mapping='[tables.orders]\ntotal = "Summe"\n')
    said = refusals(folder)
    assert said["check"] == said["count"] == said["open"]
    assert said["check"] == (
        "not usable: no order has a readable total; orders.total is column 'Summe' in orders.csv, and it holds no "
        "amounts (e.g. 'abc'); map orders.total to the column that holds the amounts in segtui.toml: "
        "[tables.orders] total = \"<column or SQL expression>\""
    )


def test_check_exit_code_usable_0_not_usable_1(tmp_path):
    """2,000 totals that are no number: check used to list them and still end 'usable', exit 0."""
    good = shop_folder(tmp_path / "good", ["€37,32", "€5,00"])
    result = run_cli("check", str(good))
    assert result.returncode == 0, result.stderr
    assert "usable: 2 orders from 1 customers" in result.stdout

    rows = "".join(f"{i},{i % 50},2026-01-01 10:00,unknown\n" for i in range(1, 2001))
    bad = make_csv_folder(tmp_path / "bad", {"orders.csv": "order_id,customer_id,ordered_at,total\n" + rows})
    result = run_cli("check", str(bad))
    assert result.returncode == 1
    assert "not usable: no order has a readable total; orders.total is column 'total' in orders.csv" in " ".join(result.stdout.split())
    data = json.loads(run_cli("check", str(bad), "--json").stdout)
    assert data["usable"] is False
    assert [(p["problem"], p["count"]) for p in data["problems"]] == [("non-numeric total", 2000)]
