"""Shopify's orders export, read as a shop without a mapping file.

Shopify writes one CSV row per line item: the order's own fields (Email, Created at, Total...)
are on the first row of its ``Name`` and blank on the rows that follow, and a large export
arrives as ``orders_export_1.csv``, ``orders_export_2.csv``... Read as a plain table, every
line would count as an order. This module recognises the export (a CSV file whose header has
Shopify's columns, or a folder of ``orders_export*.csv``), reads its rows once into an
in-memory tables (``queries/shopify/lines.sql``, ``order_rows.sql``) and hands ``source.open_source`` the contract
tables it yields (``queries/shopify/<table>.sql``) as if the source held them; source.py then
normalises them like any other table, and a mapping file may still override a column.
DuckDB reads the CSV; this module picks the files and columns and tells ``segtui check``
what was taken from where.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from segtui.errors import SourceError
from segtui.resources import read_query

KIND = "Shopify orders export"

#: A CSV whose header has these columns is a Shopify orders export: one row per line item
#: (Lineitem ...) of an order (Name) by a customer (Email) at a time (Created at).
SIGNATURE = ("Name", "Email", "Created at", "Lineitem quantity", "Lineitem name")

#: The Shopify columns read (lines.sql); a file lacking one reads it as NULL.
COLUMNS = (
    "Name", "Email", "Created at", "Cancelled at", "Total", "Discount Amount", "Refunded Amount",
    "Currency", "Source", "Payment Method", "Accepts Marketing", "Billing Name", "Billing City",
    "Billing Country", "Billing Phone", "Phone", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem sku",
)

#: Contract table -> contract column -> the Shopify columns it is read from (any one will do).
#: A contract column none of whose Shopify columns the export has is left out of the table, so
#: that the features needing it say "unavailable" instead of reading NULLs as real values.
SOURCES: dict[str, dict[str, tuple[str, ...]]] = {
    "orders": {
        "order_id": ("Name",), "customer_id": ("Email",), "ordered_at": ("Created at",), "total": ("Total",),
        "discount": ("Discount Amount",), "channel": ("Source",), "payment_method": ("Payment Method",),
    },
    "order_items": {
        "order_id": ("Name",), "product_id": ("Lineitem sku", "Lineitem name"),
        "quantity": ("Lineitem quantity",), "price": ("Lineitem price",),
    },
    "customers": {
        "customer_id": ("Email",), "country": ("Billing Country",), "city": ("Billing City",),
        "email_opt_in": ("Accepts Marketing",), "email": ("Email",), "first_name": ("Billing Name",),
        "last_name": ("Billing Name",), "phone": ("Billing Phone", "Phone"),
    },
    "returns": {"order_id": ("Name",), "amount": ("Refunded Amount",)},
}
#: A table is made only when the export has these columns (returns: nothing to read without a
#: Refunded Amount).
TABLE_NEEDS = {"returns": ("Refunded Amount",)}

FOLDER_GLOB = "orders_export*.csv"
QUERIES = ("lines", "order_rows", "orders", "order_items", "customers", "returns", "summary")


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _reader(file: Path) -> str:
    """Every column as text: Shopify writes zip codes with leading zeros ('01234), order names
    with a '#', and segtui's views cast what they need with TRY_CAST (bad values become NULL
    and `segtui check` shows them).

    No comment character: DuckDB's sniffer takes '#' for one when most rows start with it,
    as every order's Name does ('#1001'), and then skips those rows without a word. Quotes
    are Shopify's ("..." with "" inside); the delimiter is DuckDB's to sniff, since an export
    saved again by a spreadsheet may use ';'."""
    return (f"read_csv({_quote_str(str(file))}, header = true, all_varchar = true, "
            "comment = '', quote = '\"', escape = '\"')")


def _header(con: duckdb.DuckDBPyConnection, file: Path) -> list[str] | None:
    try:
        if file.stat().st_size == 0:
            return None
        return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {_reader(file)}").fetchall()]
    except (OSError, duckdb.Error):
        return None  # not readable as CSV: the ordinary reader says why, if it is read at all


def _by_name(header: list[str]) -> dict[str, str]:
    """Shopify column name -> the file's column, ignoring case and surrounding spaces."""
    found = {h.strip().lower(): h for h in header}
    return {c: found[c.lower()] for c in COLUMNS if c.lower() in found}


def _is_export(header: list[str] | None) -> bool:
    return header is not None and all(c in _by_name(header) for c in SIGNATURE)


def _is_export_name(name: str) -> bool:
    """orders_export.csv, orders_export_1.csv ... (FOLDER_GLOB, in any case)."""
    low = name.lower()
    return low.startswith("orders_export") and low.endswith(".csv")


def _natural(path: Path) -> list:
    """orders_export_2.csv before orders_export_10.csv."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name.lower())]


def find_export(con: duckdb.DuckDBPyConnection, path: Path) -> ShopifyExport | None:
    """The Shopify orders export at ``path``, or None.

    A CSV file is one when its header has Shopify's columns, whatever its name. A folder is
    one when it holds ``orders_export*.csv`` files: all of them are the one export (Shopify
    splits a large one), and each must have the header, else the folder is refused rather
    than read as half an export.
    """
    if path.is_file():
        header = _header(con, path) if path.suffix.lower() == ".csv" else None
        return ShopifyExport(path, [path], [header]) if _is_export(header) else None
    if not path.is_dir():
        return None
    files = sorted((p for p in path.iterdir() if p.is_file() and _is_export_name(p.name)), key=_natural)
    if not files:
        return None
    headers = [_header(con, f) for f in files]
    odd = [(f, h) for f, h in zip(files, headers) if not _is_export(h)]
    if len(odd) == len(files):
        return None  # named like an export, but none is one: ordinary tables
    if odd:
        file, header = odd[0]
        missing = ", ".join(c for c in SIGNATURE if c not in _by_name(header or []))
        raise SourceError(
            f"{file.name} in {path} is named like a Shopify orders export but has no column {missing}; "
            "remove it or export it again"
        )
    return ShopifyExport(path, files, headers)


@dataclass
class ShopifyExport:
    """One Shopify orders export (one file or several) being read as a shop."""

    path: Path
    files: list[Path]
    headers: list[list[str] | None]
    summary: dict = field(default_factory=dict)  # from summary.sql, once read
    present: set[str] = field(default_factory=set)  # the Shopify columns some file has
    kind: str = KIND

    @property
    def origin(self) -> str:
        names = [f.name for f in self.files]
        return names[0] if len(names) == 1 else f"{names[0]} .. {names[-1]} ({len(names)} files)"

    def fingerprint(self) -> str:
        """What defines the tables made here besides the files: the SQL that makes them (the
        feature cache keys on it, so a change to it is never served from an old entry)."""
        return hashlib.sha256("\n".join(read_query(f"shopify/{q}.sql") for q in QUERIES).encode()).hexdigest()

    def add_tables(self, con: duckdb.DuckDBPyConnection, raw: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
        """Read the export into ``shopify_lines`` and add its contract tables to ``raw`` (the
        source's tables, {name: (relation SQL, origin)}); a table the folder also holds as a
        file of its own is refused: which one is meant cannot be guessed."""
        self._read_lines(con)
        tables = dict(raw)
        for table, columns in SOURCES.items():
            if not all(c in self.present for c in TABLE_NEEDS.get(table, ())):
                continue
            if table in tables:
                raise SourceError(
                    f"{self.path} holds both {tables[table][1]} and a Shopify orders export ({self.origin}) "
                    f"for table '{table}'; keep one of them"
                )
            view = f"shopify_{table}"
            con.execute(f"CREATE OR REPLACE VIEW {view} AS {read_query(f'shopify/{table}.sql')}")
            kept = [c for c, sources in columns.items() if any(s in self.present for s in sources)]
            tables[table] = (f"(SELECT {', '.join(kept)} FROM {view})", self.origin)
        return tables

    def _read_lines(self, con: duckdb.DuckDBPyConnection) -> None:
        """Read every file once into ``shopify_lines`` (a row each) and ``shopify_order_rows``
        (the first row of each Name), and count what `segtui check` reports."""
        parts = []
        for number, (file, header) in enumerate(zip(self.files, self.headers), start=1):
            found = _by_name(header or [])
            self.present.update(found)
            columns = ", ".join(
                f"{_quote_ident(found[c])} AS {_quote_ident(c)}" if c in found else f"CAST(NULL AS VARCHAR) AS {_quote_ident(c)}"
                for c in COLUMNS
            )
            # ROW_NUMBER() OVER () numbers a plain scan in file order (DuckDB keeps insertion
            # order), per file before the union: "the first row of each Name" is that order.
            parts.append(f"SELECT {number} AS file_no, ROW_NUMBER() OVER () AS line_no, {columns} FROM {_reader(file)}")
        try:
            con.execute(f"CREATE OR REPLACE TEMP VIEW shopify_rows AS {' UNION ALL '.join(parts)}")
            con.execute(read_query("shopify/lines.sql"))
            con.execute("DROP VIEW shopify_rows")  # nothing reads the files again
            con.execute(read_query("shopify/order_rows.sql"))
            cursor = con.execute(read_query("shopify/summary.sql"))
            names = [d[0] for d in cursor.description]
            self.summary = dict(zip(names, cursor.fetchone()))
        except duckdb.Error as exc:
            raise SourceError(f"cannot read {self.origin} as a Shopify orders export: {_first_line(exc)}") from None

    def notes(self) -> list[str]:
        """What `segtui check` says was taken from where, one line each."""
        s = self.summary

        def plural(n: int, word: str) -> str:
            return f"{n:,} {word}{'' if n == 1 else 's'}"

        orders = s["names"] - s["cancelled"]
        line = f"orders: {orders:,} from {plural(s['rows'], 'row')} (first row of each Name)"
        if s["cancelled"]:
            line += f"; {s['cancelled']:,} cancelled left out"
        if s["without_email"]:
            line += f"; {plural(s['without_email'], 'order')} without Email (no customer)"
        if s["nameless"]:
            line += f"; {plural(s['nameless'], 'row')} without a Name left out"
        notes = [line]
        taken = [f"{contract} from {source}" for contract, source in (
            ("ordered_at", "Created at"), ("total", "Total"), ("discount", "Discount Amount"),
            ("channel", "Source"), ("payment_method", "Payment Method")) if source in self.present]
        notes.append("orders: " + ", ".join(taken))
        offsets = [o for o in s["utc_offsets"] or [] if o]
        notes.append(
            "ordered_at: the date and time as written, on the shop's own clock"
            + (f" (UTC offsets {', '.join(offsets)} not applied)" if offsets else "")
        )
        product = "Lineitem sku, else Lineitem name" if "Lineitem sku" in self.present else "Lineitem name"
        notes.append(f"order_items: {plural(s['lines'], 'line')}; product_id from {product}, "
                     "quantity from Lineitem quantity, price from Lineitem price")
        contact = [f"{contract} from {' or '.join(sources)}" for contract, sources in (
            ("country", ("Billing Country",)), ("city", ("Billing City",)), ("first_name/last_name", ("Billing Name",)),
            ("phone", ("Billing Phone", "Phone")), ("email_opt_in", ("Accepts Marketing",)),
        ) if any(c in self.present for c in sources)]
        notes.append(f"customers: {s['customers']:,} by Email (trimmed, lower case); "
                     + ", ".join(contact) + " of their latest order")
        if "Refunded Amount" in self.present:
            notes.append(f"returns: {plural(s['refunded'], 'order')} with a Refunded Amount (no refund date in the export)")
        else:
            notes.append("returns: none read (the export has no Refunded Amount column)")
        currencies = [c for c in s["currencies"] or [] if c]
        if len(currencies) > 1:
            notes.append(f"currencies: {', '.join(currencies)}; totals are summed as written, not converted")
        return notes


def _first_line(exc: Exception) -> str:
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__
