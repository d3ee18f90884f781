"""The feature catalogue: every field of ``customer_features``, the families of SQL files that
compute them (``queries/features/``), and which of them a shop's tables and columns allow.

Reading a SQL file and rendering the as-of date and the value lists into it live here too;
``build`` runs the files, this module only describes them.

The fields are declared where they are computed: in the header comment of their family's
portable reference file (``queries/features/<family>.sql``), one per line, in column order::

    -- field: <name> <TYPE> [<unit>] <option=value> ...: <definition, one sentence>
    --     <the definition continues on lines indented by two or more spaces>

``TYPE`` is the column's SQL type (BIGINT, DOUBLE, VARCHAR, BOOLEAN, TIMESTAMP) and ``unit``
what a value counts or means ("days", "share 0-1"). The options, none required:

- ``fill=<SQL>``: the value of a customer the family has no row for (``0``, ``FALSE``,
  ``'none'``); without it, NULL.
- ``needs=<table>,<table|table>``: the tables the field needs when they differ from the file's
  own ``-- needs:`` (``|`` joins alternatives: either will do); it replaces the file's
  ``-- needs_columns:`` too, so name the columns with it.
- ``needs_columns=<table.column>,...``: the columns it needs instead of the file's
  ``-- needs_columns:`` (``orders.device|events.device``: either will do).

The other header keys of a file: ``-- needs:`` tables, ``-- needs_columns:`` columns,
``-- value_counts:`` the columns whose per-value counts it reads (DuckDB overrides),
``-- reads:`` the families whose tables it reads, ``-- computed_by:`` a Python function
(``module:function``) the builder calls with the connection and the as-of date before running
the file, for a family whose values no SQL computes (the predictive models' fit: the function
registers what the file then selects from). Such a family runs on DuckDB only; on other engines
its fields are unavailable, never wrong. A header line ``-- <word>:`` with any other
word is an error naming the file, as is an unknown option, so a typo cannot drop a field or a
need. ``FIELDS`` is these declarations in the order of ``_CATALOGUE`` (families) and of the
lines within each file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from segtui import resources
from segtui.resources import queries_dir, read_query

FEATURE_TABLE = "customer_features"


@dataclass(frozen=True)
class Field:
    """One column of ``customer_features``.

    ``needs`` are tables and ``needs_columns`` are ``table.column`` names; an entry may list
    alternatives joined by ``|`` ("events|reviews": either will do). ``family`` is the
    ``queries/features`` family that computes it and ``fill`` the SQL value a customer the
    family has no row for gets (``None``: NULL).
    """

    name: str
    type: str
    description: str
    unit: str
    needs: tuple[str, ...]
    needs_columns: tuple[str, ...] = ()
    family: str = "core"
    fill: str | None = None




# Base files per source table; tables without a base file of their own are read directly.
_BASES: dict[str, str] = {
    "orders": "base_orders.sql",
    "customers": "base_customers.sql",
    "events": "base_events.sql",
    "reviews": "base_reviews.sql",
    "returns": "base_returns.sql",
    "order_items": "base_items.sql",
    "products": "base_products.sql",
}

# An empty stand-in for the base of a table the shop lacks, so that families which only draw on
# it (universe, devices, reviews: read by the last action and complaints) can read it. Must
# match the columns of the real base file (a test checks it). {id} is the shop's ID type.
_EMPTY_BASES: dict[str, tuple[str, str]] = {
    "customers": ("customers_asof", "customer_id {id}, created_at TIMESTAMP, created_days_ago BIGINT, "
                  "country VARCHAR, city VARCHAR, age BIGINT, gender VARCHAR, email_opt_in BOOLEAN"),
    "events": ("events_asof", "customer_id {id}, occurred_at TIMESTAMP, event_date DATE, days_ago BIGINT, "
               "type VARCHAR, product_id {id}, device VARCHAR, os VARCHAR, session_id VARCHAR"),
    "reviews": ("reviews_asof", "customer_id {id}, created_at TIMESTAMP, days_ago BIGINT, rating DOUBLE, kind VARCHAR"),
}

# Families in run order (later ones read earlier ones' tables); each maps to its files in order
# of preference: the first whose needs are met computes the family. These are the portable
# references (and genuine fallbacks, such as views_unbought_no_items.sql for shops without order
# lines); a DuckDB override ``NAME.duckdb.sql`` beside a reference ``NAME.sql`` is found by its
# name (see _candidates).
_FAMILIES: dict[str, tuple[str, ...]] = {
    "core": ("core.sql",),
    "events": ("events.sql",),
    "universe": ("universe.sql",),
    "rfm": ("rfm.sql",),
    "order_profile": ("order_profile.sql",),
    "order_habits": ("order_habits.sql",),
    "categories": ("categories.sql",),
    "views_unbought": ("views_unbought.sql", "views_unbought_no_items.sql"),
    "last_action": ("last_action.sql",),
    "pricier": ("pricier.sql",),
    "devices": ("devices.sql",),
    "complaints": ("complaints.sql",),
    "reviews": ("reviews.sql",),
    "returns": ("returns.sql",),
    "predict": ("predict.sql",),
}
# The engines a build can pick files for: "duckdb" runs the DuckDB overrides where they exist,
# "reference" only the portable files (what Spark and the warehouses get, here run on DuckDB to
# prove that both give the same table).
ENGINES = ("duckdb", "reference")
OVERRIDE_SUFFIX = ".duckdb.sql"
DATES_SUFFIX = ".dates.sql"  # see dates_file

# A header line ``-- key: value`` (the header is the comment block the file starts with), a
# field's declaration, and a line that continues one.
_HEADER_KEY = re.compile(r"^-- ([a-z_]+):(.*)$")
_HEADER_KEYS = ("needs", "needs_columns", "value_counts", "reads", "computed_by", "field")
_FIELD = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*) (?P<type>[A-Z]+) \[(?P<unit>[^\]]+)\]"
                    r"(?P<options>(?: [a-z_]+=\S*)*): (?P<definition>\S.*)$")
_FIELD_OPTIONS = ("fill", "needs", "needs_columns")
_CONTINUED = re.compile(r"^--\s{2,}(\S.*)$")
# A columns file is one SELECT list without FROM (see _Query.columns).
_COLUMNS = re.compile(r"^SELECT\b(.*?);?\s*\Z", re.MULTILINE | re.DOTALL)
_CREATES = re.compile(r"CREATE\s+OR\s+REPLACE\s+TEMP\s+(TABLE|VIEW)\s+(\w+)", re.IGNORECASE)
_PLACEHOLDER = re.compile(r":as_of\b")
_VALUES_PLACEHOLDER = re.compile(r":(\w+?)_(counts|values)\b")

# Value counts (DuckDB overrides only). A "most frequent value" pick (main payment method,
# channel, device, OS) costs a GROUP BY over (customer, value): at a million customers a second
# hash table over ~10M orders or ~30M events. When the column has few distinct values, the pass
# that already groups those rows by customer (order_profile.duckdb.sql, events.duckdb.sql)
# counts each value instead, one count_if per value, into a list (``:<column>_counts``, in the
# order of ``:<column>_values``), and the pick is the first position of the greatest count (the
# values are sorted, so ties go to the alphabetically first). A column with more values than
# this falls back to the family's portable reference, which groups (order_habits.sql,
# devices.sql). Each key names the column and the base views whose values it counts: a device
# is counted over orders and events together.
VALUE_COUNT_MAX = 24
# The pick from such a list: the value of the first greatest count, NULL when every count is 0.
_VALUE_MODE_MACRO = (
    "CREATE OR REPLACE TEMP MACRO value_mode(counts, vals) AS "
    "CASE WHEN list_max(counts) > 0 THEN vals[list_position(counts, list_max(counts))] END"
)
_VALUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "payment_method": ("orders_asof",),
    "channel": ("orders_asof",),
    "device": ("orders_asof", "events_asof"),
    "os": ("events_asof",),
}


@dataclass(frozen=True)
class _Query:
    file: str
    sql: str
    needs: tuple[str, ...]
    needs_columns: tuple[str, ...]
    table: str  # the last object the file creates: the family's table (or the base's view)
    kind: str  # TABLE or VIEW, or COLUMNS for a columns file
    creates: tuple[tuple[str, str], ...] = ()  # every (kind, name) it creates, helpers first
    value_counts: tuple[str, ...] = ()  # columns whose value counts it reads (see VALUE_COUNT_MAX)
    reads: tuple[str, ...] = ()  # families whose tables a columns file reads
    fields: tuple[Field, ...] = ()  # the fields it declares (a family's reference file)
    computed_by: str = ""  # module:function run before the file (see the module's docstring)

    @property
    def is_columns(self) -> bool:
        return self.kind == "COLUMNS"

    def columns(self, as_of: date, values: Mapping[str, list[str]]) -> str:
        """A columns file's SELECT list, rendered. Such a file creates nothing: its columns are
        computed per customer in the final join (:func:`_final_sql`), from columns the passes
        already keep, reading each family's table by its name (``feature_core.last_order_at``)
        and the as-of date from ``feature_asof``. Picks that are cheap per row but would cost a
        GROUP BY and a join of their own as a table (the latest action, the complaints, the
        modes order_profile.duckdb.sql picked) are written this way."""
        body = re.sub(r"--[^\n]*", "", render(self.sql, as_of, values))  # a comment would swallow the join's comma
        return _COLUMNS.search(body.strip()).group(1).strip()


class CatalogueError(ValueError):
    """A feature SQL file's header says something the catalogue cannot read."""


def load_query(file: str) -> _Query:
    """A feature SQL file with its header (see the top of this module): the tables and columns
    it needs, the value counts and families it reads, the fields it declares.

    Read once per version of the file (its size and mtime): planning a question and keying the
    cache look at every file several times, ~0.3 ms a read, which made up a third of a cached
    open."""
    path = resources.queries_dir() / "features" / file  # looked up at call time: tests point it elsewhere
    try:
        stat = path.stat()
    except OSError:
        return _parse_query(file, read_query(f"features/{file}"))  # says which file is missing
    return _load_query(file, str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _load_query(file: str, path: str, size: int, mtime_ns: int) -> _Query:
    return _parse_query(file, Path(path).read_text(encoding="utf-8"))


def _parse_query(file: str, sql: str) -> _Query:
    headers: dict[str, tuple[str, ...]] = {"needs": (), "needs_columns": (), "value_counts": (), "reads": (),
                                           "computed_by": ()}
    declared: list[tuple[str, ...]] = []  # each field's line and its continuations
    for line in _header_lines(sql):
        key_line = _HEADER_KEY.match(line)
        if key_line:
            key, value = key_line.groups()
            if key not in _HEADER_KEYS:
                raise CatalogueError(f"{file}: unknown header key '{key}' (known: {', '.join(_HEADER_KEYS)})")
            if key == "field":
                declared.append((value.strip(),))
            else:
                headers[key] = tuple(v.strip() for v in value.split(",") if v.strip())
            continue
        continued = _CONTINUED.match(line)
        if continued and declared and declared[-1] is not None:
            declared[-1] += (continued.group(1).strip(),)
        elif declared:
            declared.append(None)  # a field's text ends at the first line that does not continue it
    created = [(kind.upper(), name) for kind, name in _CREATES.findall(sql)]
    kind, table = created[-1] if created else ("COLUMNS", "")
    fields = tuple(_field(file, " ".join(parts), headers) for parts in declared if parts is not None)
    if fields and file.endswith(OVERRIDE_SUFFIX):
        raise CatalogueError(f"{file}: declare fields in the reference file, not in a DuckDB override")
    return _Query(file, sql, headers["needs"], headers["needs_columns"], table, kind, tuple(created),
                  headers["value_counts"], headers["reads"], fields, ",".join(headers["computed_by"]))


def _header_lines(sql: str) -> list[str]:
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.rstrip())
    return lines


def _field(file: str, text: str, headers: Mapping[str, tuple[str, ...]]) -> Field:
    """One ``-- field:`` declaration (its continuation lines joined by spaces) as a Field of the
    family the file is the reference of."""
    match = _FIELD.match(text)
    if not match:
        raise CatalogueError(f"{file}: cannot read the field '{text[:60]}'; write "
                             "'-- field: name TYPE [unit] option=value ...: Definition.'")
    options: dict[str, str] = {}
    for option in match["options"].split():
        key, _, value = option.partition("=")
        if key not in _FIELD_OPTIONS:
            raise CatalogueError(f"{file}: field {match['name']} has an unknown option '{key}' "
                                 f"(known: {', '.join(_FIELD_OPTIONS)})")
        options[key] = value

    def names(value: str) -> tuple[str, ...]:
        return tuple(v for v in value.split(",") if v)

    if "needs" in options:  # the field's own tables: the file's columns are not its columns
        needs, needs_columns = names(options["needs"]), ()
    else:
        needs, needs_columns = headers["needs"], headers["needs_columns"]
    if "needs_columns" in options:
        needs_columns = names(options["needs_columns"])
    family = file.removesuffix(".sql")
    return Field(match["name"], match["type"], match["definition"], match["unit"], needs, needs_columns,
                 family, options.get("fill") or None)


def render(sql: str, as_of: date, values: Mapping[str, list[str]] | None = None) -> str:
    """Put the as-of date into SQL: ``:as_of`` becomes ``DATE 'YYYY-MM-DD'``; and the value
    lists: ``:<column>_values`` becomes the literal list ``values[column]`` and
    ``:<column>_counts`` one ``count_if(<column> = value)`` per value (0, not NULL, when none),
    in a list (a NULL list when the column is not in ``values``: too many values to count this
    way).

    The date is safe to inline because it comes from a ``date`` (its isoformat is digits and
    dashes), never from text; a ``datetime`` is cut to its date. The values are the shop's
    text, quoted as SQL string literals.
    """
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    if not isinstance(as_of, date):
        raise TypeError(f"as_of must be a datetime.date, not {type(as_of).__name__}")
    values = values or {}

    def list_sql(match: re.Match) -> str:
        column, what = match.groups()
        if column not in _VALUE_COLUMNS:
            return match.group(0)
        if column not in values:
            return "CAST(NULL AS BIGINT[])" if what == "counts" else "CAST(NULL AS VARCHAR[])"
        quoted = [_quote(v) for v in values[column]]
        if what == "values":
            return f"CAST([{', '.join(quoted)}] AS VARCHAR[])"
        # COALESCE: count_if is NULL, not 0, for a customer whose rows all have a NULL value,
        # and a NULL count would spoil the sum of the order and event device counts.
        counts = ", ".join(f"COALESCE(count_if({column} = {q}), 0)" for q in quoted)
        return f"CAST([{counts}] AS BIGINT[])"

    return _VALUES_PLACEHOLDER.sub(list_sql, _PLACEHOLDER.sub(f"DATE '{as_of.isoformat()}'", sql))


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _value_rows(column: str, more: str = "") -> str:
    """The rows of ``column``'s base views, its value as ``value`` (and ``more`` columns)."""
    return " UNION ALL ".join(f"SELECT {column} AS value{more} FROM {view}" for view in _VALUE_COLUMNS[column])


def count_values(con: duckdb.DuckDBPyConnection, columns: Collection[str]) -> dict[str, list[str]]:
    """The distinct values of each value-count column (see VALUE_COUNT_MAX), sorted as DuckDB
    sorts text, over its base views; a column with more than VALUE_COUNT_MAX is left out."""
    found: dict[str, list[str]] = {}
    for column in columns:
        rows = con.execute(
            f"SELECT DISTINCT value FROM ({_value_rows(column)}) AS v WHERE value IS NOT NULL "
            f"ORDER BY value LIMIT {VALUE_COUNT_MAX + 1}"
        ).fetchall()
        if len(rows) <= VALUE_COUNT_MAX:
            found[column] = [r[0] for r in rows]
    return found


#: The most distinct values of a value-count column :class:`ValueDays` keeps (beyond it each
#: date scans for its own list, as :func:`count_values` does).
VALUE_DAYS_MAX = 10_000


@dataclass(frozen=True)
class ValueDays:
    """The value lists :func:`count_values` finds at any date up to ``day``, from one scan at
    ``day``: each value-count column's distinct values (sorted as it sorts them) with the
    greatest ``days_ago`` of a row carrying it. A row is in the base views at an earlier date
    exactly when its date is on or before that date (the views cut at the end of the as-of day),
    that is when its ``days_ago`` at ``day`` is at least the days between the two dates: a value
    is in a date's list when its oldest row is. The segment history asks a dozen dates; this is
    one scan instead of one per date (a distinct scan per column, ~0.5 s at a million customers).
    """

    day: date
    oldest: Mapping[str, tuple[tuple[str, int], ...] | None]  # column -> (value, days_ago); None: too many

    def at(self, day: date) -> dict[str, list[str] | None]:
        """The columns' value lists at ``day`` (not after :attr:`day`), as :func:`count_values`
        returns them there (a column with too many values: None); a column with more values
        than :data:`VALUE_DAYS_MAX` is left out (to be scanned)."""
        if day > self.day:
            raise ValueError(f"value lists of {self.day} cannot say those of the later {day}")
        back = (self.day - day).days
        found: dict[str, list[str] | None] = {}
        for column, values in self.oldest.items():
            if values is None:
                continue
            present = [value for value, oldest in values if oldest >= back]
            found[column] = present if len(present) <= VALUE_COUNT_MAX else None
        return found


def find_value_days(con: duckdb.DuckDBPyConnection, columns: Collection[str], day: date) -> ValueDays:
    """:class:`ValueDays` of ``columns`` over their base views as they stand at ``day``."""
    oldest: dict[str, tuple[tuple[str, int], ...] | None] = {}
    for column in columns:
        rows = con.execute(
            f"SELECT value, max(days_ago) FROM ({_value_rows(column, ', days_ago')}) AS v WHERE value IS NOT NULL "
            f"GROUP BY value ORDER BY value LIMIT {VALUE_DAYS_MAX + 1}"
        ).fetchall()
        oldest[column] = tuple((value, int(days)) for value, days in rows) if len(rows) <= VALUE_DAYS_MAX else None
    return ValueDays(day, oldest)


# The catalogue: the families whose reference files declare fields, in column order (each
# file's fields in the order of its lines).
_CATALOGUE = ("core", "rfm", "order_profile", "order_habits", "categories", "events", "views_unbought",
              "last_action", "pricier", "devices", "complaints", "reviews", "returns", "predict", "universe")


def _catalogue() -> tuple[Field, ...]:
    return tuple(field for family in _CATALOGUE for field in load_query(f"{family}.sql").fields)


FIELDS: tuple[Field, ...] = _catalogue()
FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}


# ---------------------------------------------------------------------------------------------
# Availability


def _missing(needs: tuple[str, ...], needs_columns: tuple[str, ...], tables: set[str],
             present_columns: Mapping[str, set[str]]) -> list[str]:
    """The needs not met, as the user reads them ("events or reviews", "orders.discount").

    A table listed in ``tables`` but absent from ``present_columns`` counts as having all its
    columns.
    """

    def has_column(qualified: str) -> bool:
        table, _, column = qualified.partition(".")
        if table not in tables:
            return False
        present = present_columns.get(table)
        return present is None or column in present

    missing = [n.replace("|", " or ") for n in needs if not any(alt in tables for alt in n.split("|"))]
    # A column of a missing table is already said by "needs <table>".
    missing += [c.replace("|", " or ") for c in needs_columns
                if not any(has_column(alt) for alt in c.split("|"))
                and any(alt.partition(".")[0] in tables for alt in c.split("|"))]
    return missing


def _reason(missing: list[str]) -> str:
    return "needs " + ", ".join(missing)


def _candidates(family: str, engine: str = "duckdb") -> tuple[str, ...]:
    """The files that may compute ``family`` on ``engine``, in order of preference.

    ``"reference"``: the family's portable files only (the SQL other engines run, transpiled
    by sqlglot). ``"duckdb"``: each file's DuckDB override (``NAME.duckdb.sql``, the same
    table by faster, DuckDB-only SQL) right before it, where there is one.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    files: list[str] = []
    for file in _FAMILIES[family]:
        override = file.removesuffix(".sql") + OVERRIDE_SUFFIX
        if engine == "duckdb" and _exists(override):
            files.append(override)
        files.append(file)
    return tuple(files)


@functools.cache
def _exists(file: str) -> bool:
    return (queries_dir() / "features" / file).is_file()


def dates_file(file: str) -> str | None:
    """The SQL a pass over many dates (``features.lift``) runs for ``file`` instead of its
    rewrite: ``NAME.dates.sql`` beside ``NAME.sql``, where there is one, or None. Such a file
    makes the same table at every as-of date of ``__dates``, the date in a column ``__d``,
    from the dated bases; it is for a family whose value at a date follows from one pass over
    the last date's rows (the first day it became true), which the rewrite would compute once
    per date."""
    name = file.removesuffix(OVERRIDE_SUFFIX).removesuffix(".sql") + DATES_SUFFIX
    return read_query(f"features/{name}") if _exists(name) else None


def _plan(tables: set[str], present_columns: Mapping[str, set[str]], engine: str = "duckdb"):
    """Which files can compute each family on ``engine`` (in order of preference: the first
    whose value counts exist is run), which fields are available, and why the others are not."""
    chosen: dict[str, list[_Query]] = {}
    family_reason: dict[str, str] = {}
    for family in _FAMILIES:
        first_missing: list[str] | None = None
        for file in _candidates(family, engine):
            query = load_query(file)
            missing = _missing(query.needs, query.needs_columns, tables, present_columns)
            if query.computed_by and engine != "duckdb":
                missing = ["segtui's own model fit (DuckDB only)"]
            if not missing:
                chosen.setdefault(family, []).append(query)
            elif first_missing is None:
                first_missing = missing
        if family not in chosen:
            family_reason[family] = _reason(first_missing or [])
    available: list[Field] = []
    unavailable: dict[str, str] = {}
    for f in FIELDS:
        missing = _missing(f.needs, f.needs_columns, tables, present_columns)
        if missing:
            unavailable[f.name] = _reason(missing)
        elif f.family not in chosen:
            unavailable[f.name] = family_reason[f.family]
        else:
            available.append(f)
    return chosen, tuple(available), unavailable


def feature_availability(tables: set[str], present_columns: Mapping[str, set[str]]
                         ) -> tuple[tuple[Field, ...], dict[str, str]]:
    """The fields a shop with these tables and columns can have, and why the rest cannot."""
    _, available, unavailable = _plan(set(tables), present_columns)
    return available, unavailable
