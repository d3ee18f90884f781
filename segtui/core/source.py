"""Open a shop read-only and present it as the normalised views of docs/shop-contract.md.

A shop is a DuckDB file, a folder of CSV/Parquet files (one table per file), or a single
CSV/Parquet file (taken as ``orders``). DuckDB does all the reading: the file is ATTACHed
READ_ONLY into an in-memory connection, files are read with read_csv/read_parquet views, so
segtui never holds a write handle on anything of the user's. A mapping file (segtui.toml)
renames tables and turns columns into SQL expressions over the source table. Money written as
text ('€37,32', '$1,234.56') is read by the notation its column agrees on (core.money).
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from segtui.core import money
from segtui.core.shopify import ShopifyExport, find_export
from segtui.errors import MappingError, SourceError
from segtui.locations import cache_dir

ID = "ID"  # placeholder type: BIGINT when every source column of the kind is an integer

# The data contract (DESIGN.md): column -> type, required columns first.
CONTRACT: dict[str, dict[str, str]] = {
    "orders": {
        "customer_id": ID, "ordered_at": "TIMESTAMP", "total": "DOUBLE", "order_id": ID,
        "discount": "DOUBLE", "channel": "VARCHAR", "device": "VARCHAR", "payment_method": "VARCHAR",
    },
    "customers": {
        "customer_id": ID, "created_at": "TIMESTAMP", "country": "VARCHAR", "city": "VARCHAR",
        "birth_date": "DATE", "gender": "VARCHAR", "email_opt_in": "BOOLEAN",
        # contact columns: exported with the members, never features
        "email": "VARCHAR", "first_name": "VARCHAR", "last_name": "VARCHAR", "phone": "VARCHAR",
    },
    "order_items": {"order_id": ID, "product_id": ID, "quantity": "DOUBLE", "price": "DOUBLE"},
    "products": {"product_id": ID, "category": "VARCHAR", "price": "DOUBLE", "brand": "VARCHAR"},
    "events": {
        "customer_id": ID, "occurred_at": "TIMESTAMP", "type": "VARCHAR", "product_id": ID,
        "device": "VARCHAR", "os": "VARCHAR", "session_id": "VARCHAR",
    },
    "returns": {"order_id": ID, "returned_at": "TIMESTAMP", "amount": "DOUBLE", "reason": "VARCHAR"},
    "reviews": {"customer_id": ID, "created_at": "TIMESTAMP", "rating": "DOUBLE", "kind": "VARCHAR"},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "orders": ("customer_id", "ordered_at", "total"),
    "customers": ("customer_id",),
    "order_items": ("order_id", "product_id"),
    "products": ("product_id",),
    "events": ("customer_id", "occurred_at", "type"),
    "returns": ("order_id",),
    "reviews": ("customer_id",),
}
ID_COLUMNS = ("customer_id", "order_id", "product_id")
#: customers columns that exports carry after customer_id (segtui.core.export), never features.
CONTACT_COLUMNS = ("email", "first_name", "last_name", "phone")
FILE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "HUGEINT"}
MAPPING_FILE = "segtui.toml"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Table:
    """One contract table as found in the source."""

    name: str
    origin: str  # what the user would recognise: a file name or a table name
    relation: str  # SQL naming the raw relation in the workspace
    raw_columns: dict[str, str]  # raw column name -> DuckDB type
    exprs: dict[str, str] = field(default_factory=dict)  # contract column -> SQL over the raw relation
    problem: str | None = None  # why the table is unusable (missing required column), if it is
    money: dict[str, money.MoneyReading] = field(default_factory=dict)  # text money columns: how they read

    @property
    def present(self) -> set[str]:
        return set(self.exprs)


@dataclass
class Shop:
    """An opened shop: a DuckDB connection with one normalised view per usable table."""

    path: Path
    con: duckdb.DuckDBPyConnection
    tables: dict[str, Table]  # usable contract tables
    unusable: dict[str, Table]  # contract tables found but missing a required column
    mapping_file: Path | None
    id_types: dict[str, str]
    snapshot_dir: Path | None = None  # the private copy opened instead of a locked file
    known_export: ShopifyExport | None = None  # a known export read without a mapping (core.shopify)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def table_names(self) -> set[str]:
        return set(self.tables)

    @property
    def present_columns(self) -> dict[str, set[str]]:
        return {name: t.present for name, t in self.tables.items()}

    def close(self) -> None:
        self.con.close()
        if self.snapshot_dir is not None:
            shutil.rmtree(self.snapshot_dir, ignore_errors=True)


def open_source(
    path: str | Path, mapping: str | Path | None = None, threads: int | None = None, snapshot: bool = False,
) -> Shop:
    """Open ``path`` read-only and build the normalised views; raise SourceError if unusable.

    The mapping file is ``mapping`` when given, else ``segtui.toml`` beside a file or inside a
    folder. A missing ``orders`` table or a missing required orders column is fatal; other
    tables are optional, and one lacking a required column is set aside in ``Shop.unusable``.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise SourceError(f"no such file or folder: {path}")
    mapping_path = _find_mapping(path, mapping)
    spec = _read_mapping(mapping_path) if mapping_path else {}
    snapshot_dir = _snapshot(path) if snapshot and path.is_file() else None
    config: dict[str, object] = {"temp_directory": spill_directory()}
    if threads:
        config["threads"] = threads
    con = duckdb.connect(":memory:", config=config)
    try:
        money.create_macro(con)  # before the mapping's expressions are tried: they may call it
        source = snapshot_dir / path.name if snapshot_dir else path
        export = find_export(con, source)  # Shopify's orders export: its files become contract tables
        raw = _attach_raw(con, source, skip=export.files if export else ())
        if export is not None:
            raw = export.add_tables(con, raw)
        if any("read_csv(" in relation for relation, _ in raw.values()):
            _keep_try_casts(con)
        tables, unusable = _resolve_tables(con, raw, spec, path, mapping_path)
        id_types = _id_types(con, tables)
        for table in tables.values():
            _create_view(con, table, id_types)
    except BaseException:
        con.close()
        if snapshot_dir:
            shutil.rmtree(snapshot_dir, ignore_errors=True)
        raise
    return Shop(path, con, tables, unusable, mapping_path, id_types, snapshot_dir, known_export=export)


def spill_directory() -> str:
    """Where DuckDB may spill a large sort or join to disk: the user cache folder.

    DuckDB's default for an in-memory database is ``.tmp`` in the *current* folder, which is the
    shop's own folder whenever the user runs ``segtui open .`` there: a big query would create
    files beside the user's data (and leave them after a crash). The folder is made here, so
    DuckDB never owns it and only removes its own files from it (it deletes a folder it created
    itself, with whatever another segtui put there). /tmp when the cache folder is not writable.
    """
    folder = cache_dir() / "duckdb-tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return tempfile.gettempdir()
    return str(folder)


def _snapshot(path: Path) -> Path:
    """Copy a DuckDB file and its WAL into a new temp folder; return the folder.

    Plain reads are not blocked by DuckDB's write lock. The WAL is copied too so that the
    writer's recent commits are seen; DuckDB replays it when the copy is attached.
    """
    folder = Path(tempfile.mkdtemp(prefix="segtui-snapshot-"))
    try:
        shutil.copy2(path, folder / path.name)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():
            shutil.copy2(wal, folder / wal.name)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise SourceError(f"cannot copy {path} for a snapshot: {exc.strerror or exc}") from None
    return folder


def _keep_try_casts(con: duckdb.DuckDBPyConnection) -> None:
    """Stop DuckDB pushing our TRY_CASTs into the CSV reader as plain casts.

    DuckDB 2.0's ``type_pushdown`` optimizer turns ``TRY_CAST(text_col AS TIMESTAMP)`` over a
    CSV scan into the reader's own conversion, which fails the whole query on one bad value
    ("yesterday" in a date column) instead of yielding NULL. Older versions lack the setting.
    """
    try:
        con.execute("SET disabled_optimizers = 'type_pushdown'")
    except duckdb.Error:
        pass


def _find_mapping(path: Path, mapping: str | Path | None) -> Path | None:
    if mapping is not None:
        m = Path(mapping).expanduser()
        if not m.is_file():
            raise MappingError(f"mapping file not found: {m}")
        return m
    beside = (path if path.is_dir() else path.parent) / MAPPING_FILE
    return beside if beside.is_file() else None


def _read_mapping(path: Path) -> dict[str, dict[str, str]]:
    """Parse segtui.toml into {table: {"from": ..., column: expr}}, validating names."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path.name}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"cannot read mapping file {path}: {exc}") from None
    unknown_top = set(data) - {"tables"}
    if unknown_top:
        raise MappingError(f"{path.name}: unknown section [{sorted(unknown_top)[0]}]; expected [tables.NAME]")
    tables = data.get("tables", {})
    if not isinstance(tables, dict):
        raise MappingError(f"{path.name}: 'tables' must be a table of [tables.NAME] sections")
    spec: dict[str, dict[str, str]] = {}
    for name, entries in tables.items():
        if name not in CONTRACT:
            raise MappingError(f"{path.name}: unknown table [tables.{name}]{_did_you_mean(name, CONTRACT)}")
        if not isinstance(entries, dict):
            raise MappingError(f"{path.name}: [tables.{name}] must be a section of column = \"SQL expression\"")
        for key, value in entries.items():
            if key != "from" and key not in CONTRACT[name]:
                raise MappingError(
                    f"{path.name}: [tables.{name}] has unknown column '{key}'{_did_you_mean(key, CONTRACT[name])}"
                )
            if not isinstance(value, str) or not value.strip():
                raise MappingError(f"{path.name}: tables.{name}.{key} must be a non-empty string")
        spec[name] = dict(entries)
    return spec


def _squashed(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _matching_column(column: str, raw_columns: list[str]) -> str | None:
    """The source column that is ``column`` by name: the same letters ignoring case
    (Customer_ID), else, when exactly one fits, ignoring separators too (CustomerId, order-id)."""
    same = [c for c in raw_columns if c.lower() == column]
    if same:
        return same[0]
    squashed = [c for c in raw_columns if _squashed(c) == _squashed(column)]
    return squashed[0] if len(squashed) == 1 else None


def _closest_column(column: str, raw_columns: list[str]) -> str | None:
    """A source column whose name is close to ``column`` (order_date for ordered_at), for the
    example line of a "map it" message; None when nothing is close."""
    by_squashed = {_squashed(c): c for c in raw_columns}
    close = difflib.get_close_matches(_squashed(column), list(by_squashed), n=1, cutoff=0.8)
    return by_squashed[close[0]] if close else None


def _did_you_mean(word: str, options) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _file_relation(con: duckdb.DuckDBPyConnection, file: Path) -> str:
    if FILE_SUFFIXES.get(file.suffix.lower()) == "parquet":
        return f"read_parquet({quote_str(str(file))})"
    return _csv_relation(con, file)


def _csv_relation(con: duckdb.DuckDBPyConnection, file: Path) -> str:
    """Read a CSV as text and cast each column to the type DuckDB's sniffer found, with TRY_.

    The sniffer only samples the file, so a bad value past the sample ('n/a' in a number
    column on line 90,000) would fail every query; reading text and casting with TRY_ turns it
    into a NULL that `check` reports. Sniffing once here also spares a re-sniff on every query.
    A column sniffed as DOUBLE reads a later '1,234.56' or '$5.00' as money with a decimal point
    (core.money): an export's first 20,000 rows often have no amount over 999.
    """
    if file.stat().st_size == 0:
        raise SourceError(f"{file.name} is empty (0 bytes); export it again or remove it")
    try:
        sniff = con.execute("SELECT * FROM sniff_csv(?)", [str(file)]).fetchone()
    except duckdb.Error as exc:
        raise SourceError(f"cannot read {file.name} as CSV: {_first_line(exc)}") from None
    delim, quote, escape, _newline, _comment, skip, header, columns, date_fmt, ts_fmt = sniff[:10]

    def opt(value) -> str:
        return quote_str("" if value in (None, "(empty)") else value)

    # Shop exports have no comment lines: a comment mark the sniffer might guess ('#': Shopify's
    # order names start with one) would silently drop rows. And a sample with no quotes in it
    # must still read a quoted "1,234.56" further down, as RFC 4180 writes it, instead of
    # failing every query.
    if quote in (None, "", "(empty)"):
        quote = '"'
        escape = escape if escape not in (None, "", "(empty)") else '"'

    text_columns = "{" + ", ".join(f"{quote_str(c['name'])}: 'VARCHAR'" for c in columns) + "}"
    reader = (
        f"read_csv({quote_str(str(file))}, auto_detect = false, header = {str(bool(header)).lower()}, "
        f"delim = {opt(delim)}, quote = {opt(quote)}, escape = {opt(escape)}, comment = '', "
        f"skip = {int(skip or 0)}, columns = {text_columns})"
    )
    casts = []
    for c in columns:
        name, ctype = quote_ident(c["name"]), c["type"]
        if _is_contact(c["name"]):
            ctype = "VARCHAR"  # a phone number is text: 0049... or +49... must not become a number
        if ctype == "DATE" and date_fmt:
            value = f"CAST(try_strptime({name}, {quote_str(date_fmt)}) AS DATE)"
        elif ctype.startswith("TIMESTAMP") and ts_fmt:
            value = f"try_strptime({name}, {quote_str(ts_fmt)})"
        elif ctype == "VARCHAR":
            value = name
        elif ctype == "DOUBLE":  # decimal points in the sample: '$1,234.56' further down is that notation too
            value = f"COALESCE(TRY_CAST({name} AS DOUBLE), {money.strict_sql(name, '.')})"  # inline: no macro needed
        else:
            value = f"TRY_CAST({name} AS {ctype})"
        casts.append(f"{value} AS {name}")
    return f"(SELECT {', '.join(casts)} FROM {reader})"


def _is_contact(column: str) -> bool:
    return any(_matching_column(contact, [column]) for contact in CONTACT_COLUMNS)


def _attach_raw(con: duckdb.DuckDBPyConnection, path: Path, skip=()) -> dict[str, tuple[str, str]]:
    """Make the source's tables reachable; return {lower-case name: (relation SQL, origin)}.
    The files in ``skip`` are read by someone else (a known export)."""
    if path in skip:
        return {}
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FILE_SUFFIXES and p not in skip)
        if not files and not skip:
            raise SourceError(f"{path} has no .csv or .parquet files; give a DuckDB file or a folder of exports")
        raw: dict[str, tuple[str, str]] = {}
        for file in files:
            name = file.stem.lower()
            if name in raw:
                raise SourceError(f"{path} has two files for table '{name}'; keep one of them")
            raw[name] = (_file_relation(con, file), file.name)
        return raw
    if path.suffix.lower() in FILE_SUFFIXES:
        return {"orders": (_file_relation(con, path), path.name)}
    if path.suffix.lower() == ".toml":
        raise SourceError(f"{path} is a mapping file: give the data as the source and this file with --mapping "
                          f"(or, naming Spark tables, run it with --engine spark)")
    try:
        con.execute(f"ATTACH {quote_str(str(path))} AS src (READ_ONLY)")
    except duckdb.Error as exc:
        raise SourceError(_attach_message(path, exc)) from None
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'src' "
        "UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = 'src' AND NOT internal"
    ).fetchall()
    raw = {}
    for schema, table in sorted(rows, key=lambda r: (r[0] != "main", r[0], r[1])):
        raw.setdefault(table.lower(), (f"src.{quote_ident(schema)}.{quote_ident(table)}", table))
    return raw


def _attach_message(path: Path, exc: duckdb.Error) -> str:
    text = _first_line(exc)
    low = text.lower()
    if "could not set lock" in low or "conflicting lock" in low:
        return (
            f"{path} is locked by another program writing to it; close that program, "
            "or add --snapshot to open a consistent copy of it"
        )
    if "not a valid duckdb database" in low:
        return f"{path} is not a DuckDB database, CSV or Parquet file"
    if "corrupt" in low or "checksum" in low or "could not read enough bytes" in low:
        return f"{path} is a damaged or truncated DuckDB file ({text}); restore it from a backup"
    if "version" in low:
        return f"{path} was written by an incompatible DuckDB version ({text}); export it with that version"
    return f"cannot open {path}: {text}"


def _describe(con: duckdb.DuckDBPyConnection, select: str) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE {select}").fetchall()}


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def _resolve_tables(con, raw, spec, path: Path, mapping_path: Path | None):
    tables: dict[str, Table] = {}
    unusable: dict[str, Table] = {}
    where = mapping_path.name if mapping_path else MAPPING_FILE
    for name, columns in CONTRACT.items():
        entries = dict(spec.get(name, {}))
        source_name = entries.pop("from", None)
        if source_name is not None:
            relation, origin = _mapped_relation(con, raw, source_name, path, where, name)
        elif name in raw:
            relation, origin = raw[name]
        else:
            continue
        try:
            raw_columns = _describe(con, f"SELECT * FROM {relation}")
        except duckdb.Error as exc:
            raise SourceError(f"cannot read table '{name}' from {origin}: {_first_line(exc)}") from None
        exprs: dict[str, str] = {}
        for column in columns:
            if column in entries:
                exprs[column] = entries[column]
            elif (found := _matching_column(column, raw_columns)) is not None:
                exprs[column] = quote_ident(found)
        for column, expr in exprs.items():
            try:
                con.execute(f"SELECT {expr} FROM {relation} LIMIT 0")
            except duckdb.Error as exc:
                if column in entries:
                    raise MappingError(
                        f"{where}: tables.{name}.{column} = {expr!r} does not work on {origin}: {_first_line(exc)}"
                    ) from None
                raise SourceError(f"cannot read {name}.{column} from {origin}: {_first_line(exc)}") from None
        table = Table(name, origin, relation, raw_columns, exprs)
        missing = [c for c in REQUIRED[name] if c not in exprs]
        if missing:
            have = ", ".join(raw_columns) or "no columns"
            close = [(c, _closest_column(c, raw_columns)) for c in missing]
            column, example = next(((c, found) for c, found in close if found), (missing[0], None))
            table.problem = (
                f"table '{name}' ({origin}) has no column {', '.join(missing)} (it has {have}); "
                f"map it in {where}: [tables.{name}] {column} = \"{example or '<column or SQL expression>'}\""
            )
            if name == "orders":
                raise SourceError(table.problem)
            unusable[name] = table
            continue
        table.money = _money_readings(con, table)
        tables[name] = table
    if "orders" not in tables:
        found = ", ".join(sorted(raw)) or "nothing"
        raise SourceError(
            f"no 'orders' table in {path} (found: {found}); name one 'orders' or map it in "
            f"{where}: [tables.orders] from = \"<your table>\""
        )
    return tables, unusable


def _money_readings(con, table: Table) -> dict[str, money.MoneyReading]:
    """How each text money column of ``table`` reads (mapped ones too: a mapping that names a
    text column still wants its '€37,32' read; one that computes a number is not text)."""
    readings = {}
    for column in money.MONEY_COLUMNS.get(table.name, ()):
        if column in table.exprs:
            reading = money.detect(con, table.relation, table.exprs[column])
            if reading is not None:
                readings[column] = reading
    return readings


def _mapped_relation(con, raw, source_name: str, path: Path, where: str, table: str) -> tuple[str, str]:
    if source_name.lower() in raw:
        return raw[source_name.lower()]
    base = path if path.is_dir() else path.parent
    candidate = (base / source_name).expanduser()
    if candidate.is_file() and candidate.suffix.lower() in FILE_SUFFIXES:
        return _file_relation(con, candidate), candidate.name
    raise MappingError(
        f"{where}: tables.{table}.from = {source_name!r} is not a table or file in the source"
        f"{_did_you_mean(source_name.lower(), raw)}"
    )


def _id_types(con, tables: dict[str, Table]) -> dict[str, str]:
    """BIGINT for an id kind whose every source column is an integer, else VARCHAR.

    Integer keys join and group several times faster than strings at a million customers,
    and a mixed shop (integer ids in one file, text in another) must still join, so the
    choice is made once per id kind across all tables.
    """
    kinds: dict[str, set[str]] = {k: set() for k in ID_COLUMNS}
    for table in tables.values():
        for column in ID_COLUMNS:
            if column in table.exprs:
                types = _describe(con, f"SELECT {table.exprs[column]} AS v FROM {table.relation}")
                kinds[column].add(types["v"].upper())
    return {
        k: "BIGINT" if types and types <= INTEGER_TYPES else "VARCHAR" for k, types in kinds.items()
    }


def normalised_columns(table: Table, id_types: dict[str, str], with_raw: bool = False) -> list[str]:
    """The SELECT list that turns the raw relation into contract columns.

    TRY_CAST keeps bad values from failing whole queries: they become NULL, and ``check``
    finds them again by comparing with the raw value (``with_raw`` adds ``raw_<column>``).
    """
    parts = []
    for column in CONTRACT[table.name]:
        parts.append(f"{column_value(table, column, id_types)} AS {column}")
        if with_raw and column in table.exprs:
            parts.append(f"({table.exprs[column]}) AS raw_{column}")
    return parts


def column_value(table: Table, column: str, id_types: dict[str, str]) -> str:
    """The SQL of one contract column of the normalised view, over the raw relation."""
    ctype = CONTRACT[table.name][column]
    sql_type = id_types[column] if ctype == ID else ctype
    expr = table.exprs.get(column)
    if expr is None and table.name == "orders" and column == "order_id":
        number = "row_number() OVER ()"
        expr = f"-{number}" if sql_type == "BIGINT" else f"'#' || CAST({number} AS VARCHAR)"
    if expr is None:
        return f"CAST(NULL AS {sql_type})"
    reading = table.money.get(column)
    if reading is not None and reading.read:
        expr = money.money_sql(expr, reading.mark)
    return f"TRY_CAST(({expr}) AS {sql_type})"


def _create_view(con, table: Table, id_types: dict[str, str]) -> None:
    select = ", ".join(normalised_columns(table, id_types))
    con.execute(f"CREATE OR REPLACE VIEW {table.name} AS SELECT {select} FROM {table.relation}")
