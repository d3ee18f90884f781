"""Write a segment's members to CSV, Parquet or JSON, or as CSV to a stream (``--out -``).

DuckDB's COPY does the serialising; this module picks the format from the file extension,
chooses the columns, guards the target and makes the write atomic: COPY goes to a temporary
file in the target's own folder, which is renamed over the target only when complete, so a
failure or Ctrl+C leaves nothing half-written and an existing file untouched.

What a member row holds: ``customer_id``, then the contact columns the shop's customers table
has (:class:`Contacts`: e-mail, names, phone, for a campaign tool; never features, so never in
a filter), then the features. Numbers are written as the feature table holds them, except that
CSV and JSON, read by people and spreadsheets, get money to the cent and other fractions to 4
decimals (:func:`decimals`); Parquet keeps full values.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb

from segtui.core.features import FIELDS_BY_NAME
from segtui.errors import ExportError

#: ``--out -``: CSV on standard output.
STDOUT = "-"

FORMATS = {
    ".csv": "FORMAT csv, HEADER true",
    ".parquet": "FORMAT parquet, COMPRESSION zstd",
    ".json": "FORMAT json, ARRAY true",
    ".jsonl": "FORMAT json",
    ".ndjson": "FORMAT json",
}

#: Decimals of a DOUBLE feature in CSV and JSON: money to the cent, any other fraction (shares,
#: ratios, percentiles, averages of days or ratings) to 4 decimals.
MONEY_DECIMALS = 2
FRACTION_DECIMALS = 4


@dataclass(frozen=True)
class Contacts:
    """The contact columns a shop has, and ``relation``: SQL giving one row of them per
    customer_id (``queries/export/contacts.sql``), joined to the members on export."""

    columns: tuple[str, ...]
    relation: str


def is_stdout(path: str | Path) -> bool:
    return str(path) == STDOUT


def format_options(path: str | Path) -> str:
    if is_stdout(path):
        return FORMATS[".csv"]
    path = Path(path)
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ExportError(
            f"cannot tell the format of {path.name}: use a .csv, .parquet, .json or .jsonl file name, or - for CSV on stdout"
        ) from None


def check_target(path: str | Path, force: bool) -> None:
    """Refuse before any work is done: an existing file without force, a missing or read-only folder."""
    if is_stdout(path):
        return
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{path} is a folder; give a file name such as {path / 'members.csv'}")
    if path.exists() and not force:
        raise ExportError(f"{path} already exists; pass --force to overwrite it")
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(f"folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write to folder {folder}: permission denied")


def pick_columns(available: list[str], wanted: list[str] | None, unavailable: Mapping[str, str] | None = None) -> list[str]:
    """Every available column by default; otherwise the named ones, customer_id first.

    A name that is not a column is refused in one line: a known column this shop lacks
    (``unavailable``: name -> what it needs) says what it needs, a typo gets the closest name
    (difflib), and what that one needs when the shop lacks it.
    """
    if not wanted:
        return available
    unknown = [c for c in wanted if c not in available]
    if unknown:
        name = unknown[0]
        if unavailable and name in unavailable:
            raise ExportError(f"column '{name}' in --columns is unavailable for this shop: {unavailable[name]}")
        unavailable = unavailable or {}
        close = difflib.get_close_matches(name, [*available, *unavailable], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; see 'segtui fields'"
        if close and close[0] not in available:
            hint += f" (unavailable for this shop: {unavailable[close[0]]})"
        raise ExportError(f"unknown column '{name}' in --columns{hint}")
    ordered = list(dict.fromkeys(wanted))
    return ordered if "customer_id" in ordered else ["customer_id", *ordered]


def export_members(
    con: duckdb.DuckDBPyConnection,
    where_sql: str,
    path: str | Path,
    columns: list[str] | None = None,
    force: bool = False,
    table: str = "customer_features",
    rows_sorted: bool = False,
    contacts: Contacts | None = None,
    stream: BinaryIO | None = None,
    order: tuple[str, bool] | None = None,
) -> int:
    """Write the rows of ``table`` matching ``where_sql`` to ``path``, in ``customer_id`` order
    (``order``: by that column, descending when True, NULLs last, then ``customer_id``: the
    explorer's members as sorted on screen); return how many. ``path`` ``-`` writes CSV to
    ``stream`` (the CLI's stdout) instead.

    ``rows_sorted``: the table's rows are already in that order (a cache entry,
    ``FeatureSet.rows_sorted``), so the query skips its ``ORDER BY``: DuckDB keeps the insertion
    order of a scan, filter and projection in COPY (``preserve_insertion_order``, on by
    default), and the sort was a fifth of a 1M-row Parquet export. A filter is one row's
    expression (no subqueries, see filters.py), so the plan stays a plain scan. A join with
    the contact columns does not keep that order: then the rows are sorted.

    Zero rows is not an error: an empty file with a header (CSV) or a schema (Parquet) is how
    "the segment is empty" is told apart from "the export failed".
    """
    to_stdout = is_stdout(path)
    if to_stdout and stream is None:
        raise ValueError("an export to '-' needs the stream to write to")
    path = Path(path).expanduser()
    check_target(STDOUT if to_stdout else path, force)
    options = format_options(STDOUT if to_stdout else path)
    query = member_query(con, where_sql, columns, table, rows_sorted, contacts, options, order)
    if to_stdout:
        return _copy_to_stream(con, query, options, stream)
    tmp = path.with_name(f".{path.name}.segtui-{os.getpid()}.tmp")
    try:
        rows = _copy(con, query, tmp, options, str(path))
        os.replace(tmp, path)
    except OSError as exc:
        raise ExportError(f"could not write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp.is_file():
            tmp.unlink()
    return rows


def member_query(
    con: duckdb.DuckDBPyConnection, where_sql: str, columns: list[str] | None, table: str, rows_sorted: bool,
    contacts: Contacts | None, options: str, order: tuple[str, bool] | None = None,
) -> str:
    """The SELECT an export writes: the chosen columns, contact columns from a join."""
    types = {row[0]: row[1] for row in con.execute(f"DESCRIBE {table}").fetchall()}
    contact_columns = contacts.columns if contacts is not None else ()
    available = ["customer_id", *contact_columns, *(c for c in types if c != "customer_id")]
    chosen = pick_columns(available, columns)
    rounded = "FORMAT parquet" not in options
    as_json = "FORMAT json" in options
    joined = any(c in contact_columns for c in chosen)
    select = ", ".join(
        f"c.{_quote(c)}" if c in contact_columns else _column(c, types[c], rounded, as_json) for c in chosen
    )
    by = "f.customer_id"
    if order is not None and order[0] in types and order[0] != "customer_id":
        by = f"f.{_quote(order[0])} {'DESC' if order[1] else 'ASC'} NULLS LAST, f.customer_id"
    elif order is not None and order[0] == "customer_id" and order[1]:
        by = "f.customer_id DESC"
    if not joined:
        keep = rows_sorted and by == "f.customer_id"
        return f"SELECT {select} FROM {table} AS f WHERE {where_sql}" + ("" if keep else f" ORDER BY {by}")
    return (
        f"SELECT {select} FROM (SELECT * FROM {table} WHERE {where_sql}) AS f "
        f"LEFT JOIN ({contacts.relation}) AS c ON c.customer_id = f.customer_id ORDER BY {by}"
    )


def decimals(name: str) -> int:
    """How many decimals a DOUBLE column gets in CSV and JSON: the field catalogue's unit says
    which fields are money (to the cent); every other fraction gets 4, enough for a share or a
    ratio to compare and few enough that 0.30000000000000004 reads 0.3."""
    field = FIELDS_BY_NAME.get(name)
    return MONEY_DECIMALS if field is not None and field.unit == "money" else FRACTION_DECIMALS


def _column(name: str, sql_type: str, rounded: bool, as_json: bool) -> str:
    """The feature column as exported, from the member rows ``f``.

    Rounded (CSV, JSON): ROUND to :func:`decimals`, plus 0.0, which turns the -0.0 that a
    small negative rounds to into 0.0. JSON has no Infinity or NaN (DuckDB writes them, and
    jq and strict parsers then reject the whole file): in JSON a non-finite number is null.
    """
    quoted = f"f.{_quote(name)}"
    if sql_type not in ("DOUBLE", "FLOAT"):
        return f"{quoted} AS {_quote(name)}"
    value = f"ROUND({quoted}, {decimals(name)}) + 0.0" if rounded else quoted
    if as_json:
        value = f"CASE WHEN isfinite({quoted}) THEN {value} END"
    return f"{value} AS {_quote(name)}"


def _copy(con: duckdb.DuckDBPyConnection, query: str, target: Path, options: str, shown: str) -> int:
    """COPY the query's rows to ``target``; ``shown`` is the target as the user named it."""
    try:
        return con.execute(f"COPY ({query}) TO '{_sql_path(target)}' ({options})").fetchone()[0]
    except duckdb.InterruptException:
        raise KeyboardInterrupt from None
    except duckdb.Error as exc:
        raise ExportError(f"could not write {shown}: {_first_line(exc)}") from None


def _copy_to_stream(con: duckdb.DuckDBPyConnection, query: str, options: str, stream: BinaryIO) -> int:
    """COPY into a private temporary file, then copy its bytes to ``stream``.

    DuckDB writes only to paths: reopening ``/dev/stdout`` would truncate a file that stdout
    appends to (``>> log``) and does not exist on Windows. The bytes are the ones a file export
    writes. A reader that stops early (``| head``) raises BrokenPipeError here, for the CLI
    to end quietly.
    """
    from segtui.core.source import spill_directory

    folder = Path(tempfile.mkdtemp(prefix="segtui-export-", dir=spill_directory()))
    try:
        tmp = folder / "members.csv"
        rows = _copy(con, query, tmp, options, "the members for stdout")
        try:
            with tmp.open("rb") as data:
                shutil.copyfileobj(data, stream, 1 << 20)
            stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise ExportError(f"could not write to stdout: {exc.strerror or exc}") from None
        return rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _first_line(exc: Exception) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__
