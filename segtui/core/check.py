"""`segtui check`: what a shop holds, what segtui can do with it, and what is wrong in it.

Every number comes from one aggregate query per table over the raw and normalised values side
by side (see ``source.normalised_columns``), so a 10M-row table is scanned once. The report is
plain data; the CLI renders it with Rich or as JSON.

Whether a shop is usable at all is decided once, by :func:`diagnose`: `check` ends with its
sentence, and `count`, `open` and every other command refuse with the same one.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from segtui.core.money import MONEY_COLUMNS, show_amount, strict_sql
from segtui.core.source import CONTRACT, Shop, Table, column_value, normalised_columns
from segtui.errors import SourceError

KNOWN_EVENT_TYPES = (
    "page_view", "product_view", "cart_add", "checkout_start",
    "email_open", "email_click", "complaint", "search",
)
TIMESTAMP_COLUMNS = {t: [c for c, ty in cols.items() if ty in ("TIMESTAMP", "DATE")] for t, cols in CONTRACT.items()}


@dataclass
class Problem:
    table: str
    problem: str
    count: int
    example: str | None
    hint: str | None = None  # how to map the column when the example shows what it is


@dataclass
class MoneyNote:
    """A text money column read in the notation its values agree on."""

    table: str
    column: str
    source: str  # the user's name for it: "column 'Betrag' in orders.csv"
    notation: str  # "decimal comma with '.' for thousands and € sign"
    example: str | None
    value: float | None

    def __str__(self) -> str:
        shown = f" (e.g. {self.example!r} → {show_amount(self.value)})" if self.example is not None else ""
        return f"{self.table}.{self.column} ({self.source}): read as {self.notation}{shown}"


@dataclass
class TableReport:
    name: str
    origin: str
    rows: int | None
    columns: list[str]  # contract columns found (or mapped)
    missing_optional: list[str]
    usable: bool
    problem: str | None = None


@dataclass
class CheckReport:
    source: str
    mapping_file: str | None
    tables: list[TableReport]
    customers: int
    orders_from: str | None
    orders_to: str | None
    events_from: str | None
    events_to: str | None
    features_available: list[str]
    features_unavailable: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    usable: bool = True
    verdict: str = ""
    source_format: str | None = None  # a known export read without a mapping ("Shopify orders export")
    notes: list[str] = field(default_factory=list)  # what that reading took from where, one line each
    money: list[MoneyNote] = field(default_factory=list)  # text money columns and how they were read

    def to_dict(self) -> dict:
        data = asdict(self)
        for problem in data["problems"]:  # a hint only where there is one: the shape stays as it was
            if problem["hint"] is None:
                del problem["hint"]
        if self.source_format is None:  # the same for a shop that is no known export
            del data["source_format"], data["notes"]
        return data


# Keys that should be unique: (table, column, problem label). How features treat a repeat is
# in the label: an order's rows are lines of one order (core.sql); a customer's latest row is
# used (base_customers.sql); a product's first category by name (base_products.sql).
DUPLICATE_KEYS = (
    ("orders", "order_id", "duplicate order_id"),
    ("customers", "customer_id", "duplicate customer_id (the latest created_at is used)"),
    ("products", "product_id", "duplicate product_id (its first category by name is used)"),
)


def _problem_rules(table: str, present: set[str]) -> list[tuple[str, str, str]]:
    """(label, condition, example) triples evaluated over the raw+normalised columns."""
    rules: list[tuple[str, str, str]] = []
    key = "order_id" if table in ("order_items", "returns") else "customer_id"
    if key in CONTRACT[table] and table != "products":
        rules.append((f"NULL {key}", f"{key} IS NULL", "NULL"))
    for column in TIMESTAMP_COLUMNS[table]:
        if column not in present:
            continue
        rules.append((f"unparseable {column}", f"raw_{column} IS NOT NULL AND {column} IS NULL", f"CAST(raw_{column} AS VARCHAR)"))
        if column in ("ordered_at", "occurred_at"):
            rules.append((f"NULL {column}", f"raw_{column} IS NULL", "NULL"))
            rules.append((f"{column} in the future", f"{column} > current_localtimestamp()", f"CAST({column} AS VARCHAR)"))
    for column, ctype in CONTRACT[table].items():
        if ctype == "DOUBLE" and column in present:
            rules.append((f"non-numeric {column}", f"raw_{column} IS NOT NULL AND {column} IS NULL", f"CAST(raw_{column} AS VARCHAR)"))
        elif ctype in ("DATE", "BOOLEAN") and column in present:  # birth_date, email_opt_in
            what = "a date" if ctype == "DATE" else "true/false"
            rules.append((f"{column} not {what}", f"raw_{column} IS NOT NULL AND {column} IS NULL", f"CAST(raw_{column} AS VARCHAR)"))
    if table == "orders":
        if "order_id" in present:  # core.sql counts such a row as an order of its own
            rules.append(("no order_id (each row counts as one order)", "order_id IS NULL",
                          "COALESCE(CAST(raw_order_id AS VARCHAR), 'NULL')"))
        rules.append(("NULL total", "raw_total IS NULL", "NULL"))
        rules.append(("negative total", "total < 0", "CAST(total AS VARCHAR)"))
    if table == "events" and "type" in present:
        known = ", ".join(f"'{t}'" for t in KNOWN_EVENT_TYPES)
        rules.append(("events of unknown type", f"type IS NOT NULL AND type NOT IN ({known})", "type"))
    if table == "reviews" and "rating" in present:
        rules.append(("rating outside 1-5", "rating IS NOT NULL AND (rating < 1 OR rating > 5)", "CAST(rating AS VARCHAR)"))
    return rules


def _hint(con, table: Table, label: str, example: str | None) -> str | None:
    """The segtui.toml line that reads a column whose example shows what it is: a timestamp in
    digits (epoch seconds, epoch milliseconds, YYYYMMDD), event types in another case or
    spelling ('PRODUCT_VIEW', 'page-view')."""
    if not example:
        return None
    if label == "events of unknown type" and "type" in table.exprs:
        source = _plain(table.exprs["type"])
        if example.lower() in KNOWN_EVENT_TYPES:
            expr = f"lower({source})"
        elif re.sub(r"[ -]", "_", example.lower()) in KNOWN_EVENT_TYPES:
            expr = f"regexp_replace(lower({source}), '[ -]', '_', 'g')"
        else:
            return None
        return _toml_hint(table.name, "type", f"events.type spells its values like {example!r}", expr)
    if label.startswith("non-numeric ") and label.removeprefix("non-numeric ") in table.exprs:
        column = label.removeprefix("non-numeric ")
        if column in MONEY_COLUMNS.get(table.name, ()):
            return _money_hint(con, table, column, example)
        return _number_hint(table, column, example)
    column = label.removeprefix("unparseable ")
    if column == label or not example.isdigit() or column not in table.exprs:
        return None
    source = _plain(table.exprs[column])
    if len(example) == 8:
        expr, what = f"strptime(CAST({source} AS VARCHAR), '%Y%m%d')", "a YYYYMMDD date"
    elif 9 <= len(example) <= 10:
        expr, what = f"to_timestamp({source})", "epoch seconds"
    elif 12 <= len(example) <= 13:
        expr, what = f"to_timestamp({source} / 1000)", "epoch milliseconds"
    else:
        return None
    return _toml_hint(table.name, column, f"{table.name}.{column} looks like {what}", expr)


def _number_hint(table: Table, column: str, example: str) -> str | None:
    """A money column written with a decimal comma (5,50) or a currency sign ($5.50, 5.50 EUR)."""
    source = _plain(table.exprs[column])
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})*,\d+|-?\d+,\d+", example):
        expr = f"TRY_CAST(replace(replace(CAST({source} AS VARCHAR), '.', ''), ',', '.') AS DOUBLE)"
        what = "numbers with a decimal comma"
    elif re.fullmatch(r"[^\d-]*-?\d+(\.\d+)?[^\d]*", example) and re.search(r"\d", example):
        expr = f"TRY_CAST(regexp_replace(CAST({source} AS VARCHAR), '[^0-9.-]', '', 'g') AS DOUBLE)"
        what = "numbers with a currency sign"
    else:
        return None
    return _toml_hint(table.name, column, f"{table.name}.{column} looks like {what}", expr)


def _money_hint(con, table: Table, column: str, example: str) -> str | None:
    """The one message for a money column that does not read: named as the user's file names
    it, with why, and the segtui.toml line that reads it (``parse_money``, the SQL segtui uses
    itself) when there is a reading to propose."""
    reading = table.money.get(column)
    if reading is not None and reading.read:
        return None  # the column reads; these few values are written otherwise and stay NULL
    lead = f"{table.name}.{column} is {source_name(table, column)}"
    if reading is None:  # the values read plainly, as decimal points; this one is written otherwise
        if not _reads_with_point(con, example):
            return None  # 'n/a', or a decimal comma among decimal points: no one reading serves both
        lead += f", and values like {example!r} have a currency sign or thousands separators"
        return _toml_hint(table.name, column, lead, f"parse_money({_plain(table.exprs[column])}, '.')")
    lead += f", and {reading.trouble()}"
    proposal = reading.proposal()
    if proposal is None:
        return (f"{lead}; map {table.name}.{column} to the column that holds the amounts in segtui.toml: "
                f"[tables.{table.name}] {column} = \"<column or SQL expression>\"")
    return _toml_hint(table.name, column, f"{lead}; {proposal}",
                      f"parse_money({_plain(table.exprs[column])}, '{reading.mark}')")


def _reads_with_point(con, example: str) -> bool:
    """Whether ``example`` reads as an amount with a decimal point ('$1,234.50', '1,234')."""
    return con.execute(f"SELECT {strict_sql('v', '.')} FROM (SELECT CAST(? AS VARCHAR) AS v)", [example]).fetchone()[0] is not None


def source_name(table: Table, column: str) -> str:
    """How the user knows the source of a contract column: "column 'Betrag' in orders.csv", or
    the mapping's expression."""
    expr = table.exprs[column].strip()
    quoted = re.fullmatch(r'"((?:[^"]|"")*)"', expr)
    name = quoted.group(1).replace('""', '"') if quoted else expr
    same = [c for c in table.raw_columns if c == name] or [c for c in table.raw_columns if c.lower() == name.lower()]
    if same:
        return f"column {same[0]!r} in {table.origin}"
    return f"{expr!r} over {table.origin} (from the mapping file)"


def _plain(source: str) -> str:
    """A quoted plain column name without its quotes (the hint reads as the user would write it)."""
    return source[1:-1] if re.fullmatch(r'"[A-Za-z_][A-Za-z0-9_]*"', source) else source


def _toml_hint(table: str, column: str, lead: str, expr: str) -> str:
    value = expr.replace("\\", "\\\\").replace('"', '\\"')
    return f"{lead}: in segtui.toml, [tables.{table}] {column} = \"{value}\""


def _stamp(value) -> str | None:
    return None if value is None else str(value)


def check_shop(shop: Shop) -> CheckReport:
    """Inspect ``shop`` and say what is usable and what is wrong, with counts and examples."""
    con = shop.con
    problems: list[Problem] = []
    reports: list[TableReport] = []
    rows_by_table: dict[str, int] = {}
    for name, table in {**shop.tables, **shop.unusable}.items():
        usable = name in shop.tables
        missing = [c for c in CONTRACT[name] if c not in table.exprs]
        rows = None
        if usable:
            rules = _problem_rules(name, table.present)
            select = ", ".join(normalised_columns(table, shop.id_types, with_raw=True))
            aggregates = ["count(*)"]
            for _, cond, example in rules:
                aggregates.append(f"count(*) FILTER (WHERE {cond})")
                aggregates.append(f"min({example}) FILTER (WHERE {cond})" if example != "NULL" else "NULL")
            result = con.execute(f"SELECT {', '.join(aggregates)} FROM (SELECT {select} FROM {table.relation})").fetchone()
            rows = rows_by_table[name] = result[0]
            for i, (label, _, example) in enumerate(rules):
                count = result[1 + 2 * i]
                if count:
                    shown = result[2 + 2 * i]
                    shown = "NULL" if example == "NULL" else _stamp(shown)
                    problems.append(Problem(name, label, count, shown, _hint(con, table, label, shown)))
        else:
            rows = con.execute(f"SELECT count(*) FROM {table.relation}").fetchone()[0]
        reports.append(TableReport(name, table.origin, rows, sorted(table.exprs), missing, usable, table.problem))

    for table, key, label in DUPLICATE_KEYS:
        if table in shop.tables and key in shop.tables[table].exprs:
            dup = con.execute(
                f"SELECT count(*), min(CAST({key} AS VARCHAR)) FROM "
                f"(SELECT {key} FROM {table} WHERE {key} IS NOT NULL GROUP BY {key} HAVING count(*) > 1)"
            ).fetchone()
            if dup[0]:
                problems.append(Problem(table, label, dup[0], dup[1]))

    customers = _count_customers(shop)
    o_from, o_to = con.execute("SELECT min(ordered_at), max(ordered_at) FROM orders").fetchone()
    e_from = e_to = None
    if "events" in shop.tables:
        e_from, e_to = con.execute("SELECT min(occurred_at), max(occurred_at) FROM events").fetchone()
    available, unavailable = _feature_availability(shop)

    reason = diagnose(shop)
    usable = reason is None
    if usable:
        valid_orders = con.execute(
            "SELECT count(*) FROM orders WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL"
        ).fetchone()[0]
        verdict = f"usable: {valid_orders:,} orders from {customers:,} customers"
        if problems:
            verdict += f"; {len(problems)} kind(s) of data problem, rows affected are ignored or counted as noted"
    else:
        verdict = f"not usable: {reason}"
    money = [
        MoneyNote(name, column, source_name(table, column), reading.notation(), reading.example, reading.value)
        for name, table in shop.tables.items() for column, reading in table.money.items() if reading.read
    ]
    report = CheckReport(
        source=str(shop.path), mapping_file=str(shop.mapping_file) if shop.mapping_file else None,
        tables=reports, customers=customers,
        orders_from=_stamp(o_from), orders_to=_stamp(o_to), events_from=_stamp(e_from), events_to=_stamp(e_to),
        features_available=available, features_unavailable=unavailable,
        problems=problems, usable=usable, verdict=verdict, money=money,
    )
    if shop.known_export is not None:  # say what the reading of a known export took from where
        report.source_format, report.notes = shop.known_export.kind, shop.known_export.notes()
    return report


def diagnose(shop: Shop) -> str | None:
    """Why nothing can be answered from ``shop``, or None when something can.

    The one diagnosis of the CLI: `check` ends with "not usable: <this>" and exits 1, and every
    command that builds features (count, open, segments, export...) refuses with the same line.
    Not usable: no order rows; or a required orders column that reads in no row — customer_id,
    ordered_at, or total when totals are written but none is a number (all spend would silently
    be 0). A NULL total alone is an order of 0, as before. The column is named as the user's
    file names it, with the segtui.toml line that reads it when there is one.
    """
    # The usual case in one streamed lookup that stops at the first good order (a full pass
    # with the text casts below took ~1 s at ten million orders, on every command).
    if shop.con.execute("SELECT 1 FROM orders WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL "
                        "AND total IS NOT NULL LIMIT 1").fetchone() is not None:
        return None
    orders = shop.tables["orders"]
    value = {c: column_value(orders, c, shop.id_types) for c in ("customer_id", "ordered_at", "total")}
    raw = {c: f"CAST(({orders.exprs[c]}) AS VARCHAR)" for c in ("ordered_at", "total")}
    rows, dated, customers, dates, written_dates, date_example, totals, written_totals, total_example = shop.con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL), "
        f"count(customer_id), count(ordered_at), count(raw_ordered_at), min(raw_ordered_at) FILTER (WHERE ordered_at IS NULL), "
        f"count(total), count(raw_total), min(raw_total) FILTER (WHERE total IS NULL) "
        f"FROM (SELECT {value['customer_id']} AS customer_id, {value['ordered_at']} AS ordered_at, {value['total']} AS total, "
        f"{raw['ordered_at']} AS raw_ordered_at, {raw['total']} AS raw_total FROM {orders.relation})"
    ).fetchone()
    if rows == 0:
        return f"the orders table is empty ({orders.origin} has no rows)"
    reasons = []
    if customers == 0:
        reasons.append(f"no order has a customer_id (orders.customer_id is {source_name(orders, 'customer_id')}, empty in every row)")
    if dates == 0:
        where = f"orders.ordered_at is {source_name(orders, 'ordered_at')}"
        if written_dates == 0:
            reasons.append(f"no order has an ordered_at ({where}, empty in every row)")
        else:
            hint = _hint(shop.con, orders, "unparseable ordered_at", date_example)
            reasons.append(f"no order has a readable ordered_at ({where}, e.g. {date_example!r})" + (f"; {hint}" if hint else ""))
    if customers and dates and not dated:
        reasons.append("no order has both a customer_id and a readable ordered_at")
    if totals == 0 and written_totals:
        hint = _hint(shop.con, orders, "non-numeric total", total_example)
        reasons.append(f"no order has a readable total; {hint}" if hint else
                       f"no order has a readable total (orders.total is {source_name(orders, 'total')}, e.g. {total_example!r})")
    return "; and ".join(reasons) or None


def require_usable(shop: Shop) -> None:
    """Raise the one-line error of :func:`diagnose` for a shop nothing can be answered from."""
    reason = diagnose(shop)
    if reason is not None:
        raise SourceError(f"not usable: {reason}")


def _count_customers(shop: Shop) -> int:
    parts = ["SELECT customer_id FROM orders"]
    if "customers" in shop.tables:
        parts.append("SELECT customer_id FROM customers")
    if "events" in shop.tables:
        parts.append("SELECT customer_id FROM events")
    union = " UNION ALL ".join(parts)
    return shop.con.execute(f"SELECT count(DISTINCT customer_id) FROM ({union})").fetchone()[0]


def _feature_availability(shop: Shop) -> tuple[list[str], dict[str, str]]:
    from segtui.core.features import feature_availability

    available, unavailable = feature_availability(shop.table_names, shop.present_columns)
    return [f.name for f in available], unavailable
