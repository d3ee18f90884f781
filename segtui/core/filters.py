"""The filter language: a SQL boolean expression over ``customer_features`` columns.

sqlglot does the parsing and the SQL generation; this module decides what is allowed. A filter
is parsed as one DuckDB expression and every node of the tree is checked against a whitelist
(known columns, literals, AND/OR/NOT, comparisons, IN, BETWEEN, LIKE/ILIKE, IS [NOT] NULL,
arithmetic, CASE, CAST to a simple type, INTERVAL and the functions in ``FUNCTIONS``). Anything
else is refused with a one-line ``FilterError`` that names the problem and, where known, the
0-based character offset of the offending token (``position``) and the nearest valid name
(``suggestion``).

What the whitelist cannot see (types) DuckDB checks: the compiled SQL is evaluated once against
a two-row stand-in for ``customer_features`` (a row of NULLs and a row of sample values of the
declared column types), so a type mismatch such as ``favorite_category > 1`` is refused here
rather than failing later, mid-count.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
import threading
from collections.abc import Callable, Mapping

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from segtui.errors import FieldUnavailable, FilterError, SegtuiError

__all__ = [
    "FUNCTIONS",
    "OPERATORS",
    "FieldUnavailable",
    "compile_filter",
    "referenced_columns",
]

DIALECT = "duckdb"

#: Functions a filter may call, name -> one-line description (the TUI autocompletes these).
FUNCTIONS: dict[str, str] = {
    "abs": "abs(x): absolute value",
    "round": "round(x[, digits]): round to digits after the point (default 0)",
    "floor": "floor(x): largest whole number <= x",
    "ceil": "ceil(x): smallest whole number >= x",
    "least": "least(a, b, ...): smallest of the values",
    "greatest": "greatest(a, b, ...): largest of the values",
    "coalesce": "coalesce(a, b, ...): first value that is not NULL",
    "nullif": "nullif(a, b): NULL when a = b, else a",
    "lower": "lower(text): text in lower case",
    "upper": "upper(text): text in upper case",
    "length": "length(text): number of characters",
    "year": "year(date): the year of a date or timestamp",
    "month": "month(date): the month (1-12) of a date or timestamp",
    "date_diff": "date_diff('day', start, end): whole units (day, week, month, year) from start to end",
    "in_segment": "in_segment('Name'): the customer is in the named segment",
}

#: Operators and literal forms, text -> one-line description (for autocomplete and help).
OPERATORS: dict[str, str] = {
    "AND": "both conditions hold",
    "OR": "either condition holds",
    "NOT": "the condition does not hold",
    "=": "equal",
    "!=": "not equal (also <>)",
    "<": "less than",
    "<=": "less than or equal",
    ">": "greater than",
    ">=": "greater than or equal",
    "IN": "x IN (a, b, ...): one of the listed values",
    "NOT IN": "x NOT IN (a, b, ...): none of the listed values",
    "BETWEEN": "x BETWEEN a AND b: a <= x <= b",
    "LIKE": "text LIKE 'pat%': pattern match, % any text, _ one character",
    "ILIKE": "like LIKE, ignoring case",
    "NOT LIKE": "the pattern does not match",
    "IS NULL": "the value is missing",
    "IS NOT NULL": "the value is present",
    "+ - * / %": "arithmetic; dividing by zero gives NULL",
    "CASE": "CASE WHEN cond THEN a ELSE b END",
    "CAST": "CAST(x AS INTEGER|BIGINT|DOUBLE|DECIMAL|VARCHAR|BOOLEAN|DATE|TIMESTAMP); NULL if it does not convert",
    "DATE": "DATE 'YYYY-MM-DD': a date",
    "TIMESTAMP": "TIMESTAMP 'YYYY-MM-DD hh:mm:ss': a point in time",
    "INTERVAL": "INTERVAL 30 DAY: a span of time (day, week, month, year, hour, minute)",
}

# sqlglot normalises spellings (datediff -> DateDiff, ceiling -> Ceil, ifnull -> Coalesce), so the
# whitelist is by node class.
_FUNCTION_NODES: dict[type[exp.Expression], str] = {
    exp.Abs: "abs",
    exp.Round: "round",
    exp.Floor: "floor",
    exp.Ceil: "ceil",
    exp.Least: "least",
    exp.Greatest: "greatest",
    exp.Coalesce: "coalesce",
    exp.Nullif: "nullif",
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Length: "length",
    exp.Year: "year",
    exp.Month: "month",
    exp.DateDiff: "date_diff",
}

_PLAIN_NODES: tuple[type[exp.Expression], ...] = (
    exp.Literal, exp.Boolean, exp.Null, exp.Paren,
    exp.And, exp.Or, exp.Not,
    exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE,
    exp.In, exp.Between, exp.Like, exp.ILike, exp.Is,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg,
    exp.Case, exp.If, exp.Cast, exp.TryCast, exp.Interval,
)  # fmt: skip

_CAST_TYPES = {
    exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT,
    exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE, exp.DataType.Type.DECIMAL,
    exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.BOOLEAN,
    exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ,
}  # fmt: skip

_UNITS = {
    unit + suffix
    for unit in ("second", "minute", "hour", "day", "week", "month", "quarter", "year")
    for suffix in ("", "s")
}

# First tokens that start a statement rather than an expression. Refused before parsing, so
# sqlglot never falls back to (and logs about) parsing an unknown statement as a Command.
_STATEMENT_TOKENS = {
    TokenType.SELECT, TokenType.WITH, TokenType.FROM, TokenType.VALUES, TokenType.TABLE,
    TokenType.SUMMARIZE, TokenType.PIVOT, TokenType.UNPIVOT, TokenType.LOAD, TokenType.INSTALL,
    TokenType.PRAGMA, TokenType.ATTACH, TokenType.DETACH, TokenType.SET, TokenType.COPY,
    TokenType.COMMAND, TokenType.EXECUTE, TokenType.SHOW, TokenType.USE, TokenType.DESCRIBE,
    TokenType.CREATE, TokenType.DROP, TokenType.ALTER, TokenType.INSERT, TokenType.UPDATE,
    TokenType.DELETE, TokenType.MERGE, TokenType.TRUNCATE, TokenType.BEGIN, TokenType.COMMIT,
    TokenType.ROLLBACK, TokenType.GRANT, TokenType.ANALYZE, TokenType.FORCE, TokenType.CACHE,
    TokenType.UNCACHE, TokenType.DECLARE, TokenType.KILL, TokenType.REFRESH, TokenType.REVOKE,
}  # fmt: skip

_TABLE_FUNCTION = re.compile(r"^(read_|parquet_|sniff_|glob$|query$|query_table$|range$|generate_series$)")


# --------------------------------------------------------------------------------------------
# public API


def compile_filter(
    expr: str,
    columns: Mapping[str, str],
    unavailable: Mapping[str, str] = {},  # noqa: B006 - read only
    resolve_segment: Callable[[str], str] | None = None,
) -> str:
    """Compile a filter into a DuckDB boolean SQL expression over ``customer_features``.

    ``columns`` maps column name -> DuckDB type; ``unavailable`` maps known field names this
    shop lacks -> reason ("needs events"); ``resolve_segment(name)`` returns the compiled SQL of
    a segment for ``in_segment('name')`` (it may raise FilterError itself).

    Decisions: every identifier is quoted in the output; ``x / y`` and ``x % y`` become
    ``x / NULLIF(y, 0)`` (DuckDB 2.0 gives inf for ``/ 0`` and an error for ``% 0``); a CAST of
    anything but a literal becomes TRY_CAST so one odd value cannot fail a count (a literal cast
    stays strict, so ``DATE '2024-13-01'`` is an error, not silently NULL). Any exception other
    than a SegtuiError is turned into ``FilterError("could not parse filter: ...")``.
    """
    if not expr or not expr.strip():
        raise FilterError("empty filter", 0)
    try:
        tree = _parse(expr)
        tree = _check_and_rewrite(tree, expr, columns, unavailable, resolve_segment)
        sql = tree.sql(dialect=DIALECT, identify=True, comments=False)
        _probe(sql, tree, expr, columns)
        return sql
    except SegtuiError:
        raise
    except Exception as error:  # noqa: BLE001 - the guard promised in the docstring
        raise FilterError(f"could not parse filter: {_one_line(str(error)) or type(error).__name__}") from None


def referenced_columns(expr: str) -> set[str]:
    """Lower-cased bare names the filter refers to as fields (unchecked; FilterError if unparsable)."""
    if not expr or not expr.strip():
        return set()
    try:
        tree = _parse(expr)
    except SegtuiError:
        raise
    except Exception as error:  # noqa: BLE001
        raise FilterError(f"could not parse filter: {_one_line(str(error))}") from None
    return {column.name.lower() for column in tree.find_all(exp.Column) if isinstance(column.this, exp.Identifier)}


def conditions(expr: str) -> list[str]:
    """The top-level AND conditions of a filter, each as filter text (one item when the filter
    is not an AND); FilterError if unparsable. ``a AND (b OR c)`` gives ``a`` and ``b OR c``."""
    tree = _parse(expr)
    while isinstance(tree, exp.Paren):
        tree = tree.this
    parts = list(tree.flatten()) if isinstance(tree, exp.And) else [tree]
    return [part.sql(dialect=DIALECT, comments=False, normalize_functions=False) for part in parts]


def text_comparisons(expr: str) -> list[tuple[str, str]]:
    """(field, text) for each ``field = 'text'`` and each text in ``field IN ('a', 'b')`` of a
    filter; empty when the filter does not parse. For the case hint of a count of 0."""
    try:
        tree = _parse(expr)
    except Exception:  # noqa: BLE001 - no hint for what does not parse
        return []
    found = []
    for node in tree.find_all(exp.EQ, exp.In):
        column = node.this
        if isinstance(node, exp.EQ):
            column, other = (node.this, node.expression) if isinstance(node.this, exp.Column) else (node.expression, node.this)
            literals = [other]
        else:
            literals = list(node.expressions)
        if not isinstance(column, exp.Column):
            continue
        found += [(column.name.lower(), lit.this) for lit in literals if isinstance(lit, exp.Literal) and lit.is_string]
    return found


def format_at(message: str, expr: str, position: int | None) -> str:
    """``message at column N`` (or ``at line L, column N`` for a multi-line filter)."""
    if position is None:
        return message
    before = expr[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    return f"{message} at line {line}, column {column}" if "\n" in expr else f"{message} at column {column}"


# --------------------------------------------------------------------------------------------
# parsing


def _parse(expr: str) -> exp.Expression:
    """One expression or a FilterError; statements and ';' are refused from the tokens."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(expr)
    except TokenError:
        position = _unterminated(expr)
        raise FilterError(format_at("unterminated string, quoted name or comment", expr, position), position) from None
    if not tokens:
        raise FilterError("empty filter", 0)
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            message = format_at("';' is not allowed: a filter is one expression", expr, token.start)
            raise FilterError(message, token.start)
    if tokens[0].token_type in _STATEMENT_TOKENS:
        first = tokens[0]
        message = f"statements are not allowed in a filter ('{first.text}')"
        raise FilterError(format_at(message, expr, first.start), first.start)
    try:
        trees = sqlglot.parse(expr, read=DIALECT)
    except ParseError as error:
        raise _parse_error(error, expr) from None
    if len(trees) != 1 or trees[0] is None:
        raise FilterError("empty filter", 0)
    return trees[0]


def _parse_error(error: ParseError, expr: str) -> FilterError:
    """sqlglot's multi-line, ANSI-underlined message -> one clean line with a position."""
    if not error.errors:
        return FilterError(f"could not parse filter: {_one_line(str(error))}")
    first = error.errors[0]
    description = _one_line(first.get("description") or "")
    highlight = _one_line(first.get("highlight") or "")
    position = None
    line, col = first.get("line"), first.get("col")
    if isinstance(line, int) and isinstance(col, int):
        lines = expr.split("\n")
        start = sum(len(text) + 1 for text in lines[: max(line - 1, 0)])
        position = max(0, min(len(expr), start + col - len(highlight)))
    if description.startswith("Required keyword") or highlight == "" or position == len(expr):
        message = f"incomplete filter: something is missing after '{highlight}'" if highlight else "incomplete filter"
    elif description.startswith("Expecting "):
        message = f"expected '{description.removeprefix('Expecting ')}' after '{highlight}'"
    else:
        message = f"unexpected '{highlight}'"
    return FilterError(format_at(message, expr, position), position)


def _unterminated(expr: str) -> int | None:
    """Start of the string, quoted name or comment that never ends (for tokenizer errors)."""
    i, n = 0, len(expr)
    while i < n:
        if expr[i] in "'\"":
            end = expr.find(expr[i], i + 1)
            while end != -1 and end + 1 < n and expr[end + 1] == expr[i]:  # doubled quote
                end = expr.find(expr[i], end + 2)
            if end == -1:
                return i
            i = end + 1
        elif expr.startswith("/*", i):
            end = expr.find("*/", i + 2)
            if end == -1:
                return i
            i = end + 2
        elif expr.startswith("--", i):
            end = expr.find("\n", i)
            i = n if end == -1 else end + 1
        else:
            i += 1
    return None


# --------------------------------------------------------------------------------------------
# the whitelist


def _check_and_rewrite(
    tree: exp.Expression,
    expr: str,
    columns: Mapping[str, str],
    unavailable: Mapping[str, str],
    resolve_segment: Callable[[str], str] | None,
) -> exp.Expression:
    """Refuse anything off the whitelist; canonicalise columns, inline segments, guard division."""
    by_lower = {name.lower(): name for name in columns}
    unavailable_lower = {name.lower(): (name, reason) for name, reason in unavailable.items()}

    def refuse(message: str, node: exp.Expression, suggestion: str | None = None, hint: str = "") -> FilterError:
        position = _start(node)
        if position is None:  # keywords such as CURRENT_DATE carry no position: find the token
            first_word = node.sql(dialect=DIALECT).split("(")[0].split(" ")[0].upper()
            position = _token_position(expr, None, first_word)
        text = format_at(message, expr, position)
        if suggestion:
            text += f"; did you mean '{suggestion}'?"
        return FilterError(text + hint, position, suggestion)

    segment_calls: list[exp.Anonymous] = []
    for node in list(tree.walk()):
        parent = node.parent
        if isinstance(node, exp.Column):
            if not isinstance(node.this, exp.Identifier):
                raise refuse("'*' is not allowed in a filter", node)
            if len(node.parts) > 1:
                raise refuse(f"qualified name '{node.sql(dialect=DIALECT)}' is not allowed; write '{node.name}'", node)
            name = node.name
            if name.lower() in by_lower:
                continue
            if name.lower() in unavailable_lower:
                field, reason = unavailable_lower[name.lower()]
                raise FieldUnavailable(f"field '{field}' is unavailable here: {reason}", reason, _start(node))
            if name.lower() in FUNCTIONS:
                raise refuse(f"'{name}' is a function; call it like {FUNCTIONS[name.lower()].split(':')[0]}", node)
            closest = _closest(name, list(columns) + list(unavailable))
            if closest is None and node.this.quoted:  # country = "FR": SQL's double quotes name a field
                text = name.replace("'", "''")
                raise refuse(f'unknown field "{name}"', node, hint=f"; text takes single quotes: '{text}'")
            raise refuse(f"unknown field '{name}'", node, closest)
        elif isinstance(node, exp.Identifier):
            if not isinstance(parent, exp.Column):
                raise refuse(f"'{node.name}' is not allowed here", node)
        elif isinstance(node, exp.Var):
            if not (isinstance(parent, (exp.Interval, exp.DateDiff)) and node.arg_key == "unit"):
                raise refuse(f"'{node.name}' is not allowed here", node)
            if node.name.lower() not in _UNITS:
                raise refuse(f"unknown time unit '{node.name.lower()}'", node, _closest(node.name, sorted(_UNITS)))
        elif isinstance(node, (exp.DataType, exp.DataTypeParam)):
            _check_type(node, parent, refuse)
        elif isinstance(node, exp.Anonymous) and node.name.lower() == "in_segment":
            segment_calls.append(node)
        elif isinstance(node, exp.In):
            if not node.expressions or any(node.args.get(key) for key in ("query", "unnest", "field")):
                raise refuse("IN needs a list of values, e.g. orders IN (1, 2, 3)", node)
        elif not (isinstance(node, _PLAIN_NODES) or type(node) in _FUNCTION_NODES):
            raise _refuse_node(node, expr, refuse)

    # Rewrites after the walk (so they never meet the whitelist), inside a holder so that the
    # root itself can be replaced; segments are inlined last, already compiled.
    holder = exp.Paren(this=tree)
    for column in list(holder.find_all(exp.Column)):
        canonical = exp.column(by_lower[column.name.lower()], quoted=True)
        canonical.this.meta.update({k: v for k, v in column.this.meta.items() if k in ("start", "end")})
        column.replace(canonical)
    for division in list(holder.find_all(exp.Div, exp.Mod)):
        divisor = division.expression
        division.set("expression", exp.Nullif(this=divisor, expression=exp.Literal.number(0)))
    for cast in list(holder.find_all(exp.Cast)):
        if type(cast) is exp.Cast and not isinstance(cast.this, exp.Literal):
            cast.replace(exp.TryCast(this=cast.this, to=cast.to))
    for call in segment_calls:
        call.replace(_inline_segment(call, resolve_segment, refuse))
    return holder.this


def _refuse_node(node: exp.Expression, expr: str, refuse: Callable[..., FilterError]) -> FilterError:
    """The one-line refusal for a node off the whitelist."""
    if isinstance(node, (exp.Select, exp.Subquery, exp.Union, exp.Exists, exp.Query)):
        position = _token_position(expr, {TokenType.SELECT, TokenType.FROM, TokenType.WITH, TokenType.VALUES})
        message = format_at("subqueries are not allowed in a filter", expr, position)
        return FilterError(message, position)
    if isinstance(node, exp.Star):
        position = _token_position(expr, {TokenType.STAR})
        return FilterError(format_at("'*' is not allowed in a filter", expr, position), position)
    if isinstance(node, exp.Window):
        position = _token_position(expr, {TokenType.OVER})
        return FilterError(format_at("window functions (OVER) are not allowed in a filter", expr, position), position)
    if isinstance(node, (exp.Array, exp.Struct, exp.Map, exp.Bracket)):
        return refuse("lists, structs and maps are not allowed in a filter", node)
    if isinstance(node, exp.Placeholder):
        position = _token_position(expr, {TokenType.PLACEHOLDER, TokenType.PARAMETER})
        return FilterError(format_at("parameters ('?', '$1') are not allowed in a filter", expr, position), position)
    if isinstance(node, (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime)):
        return refuse(
            "the current date is not allowed: features are computed as of the as-of date; "
            "use days_since_last_order and similar fields",
            node,
        )
    name = _typed_name(node, expr) if isinstance(node, exp.Func) else None
    if name:
        if isinstance(node, exp.AggFunc):
            return refuse(f"aggregate function '{name}' is not allowed: a filter tests one customer at a time", node)
        if _TABLE_FUNCTION.match(name.lower()):
            return refuse(f"table function '{name}' is not allowed in a filter", node)
        return refuse(f"unknown function '{name}'", node, _closest(name, list(FUNCTIONS)))
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(node).__name__).lower()
    snippet = node.sql(dialect=DIALECT, comments=False)
    shown = snippet if len(snippet) <= 30 else snippet[:27] + "..."
    return refuse(f"{words} ('{shown}') is not allowed in a filter", node)


def _check_type(node: exp.Expression, parent: exp.Expression | None, refuse: Callable[..., FilterError]) -> None:
    if isinstance(node, exp.DataTypeParam):
        if not (isinstance(parent, exp.DataType) and isinstance(node.this, exp.Literal) and node.this.is_int):
            raise refuse("only DECIMAL(p, s) takes parameters", node)
        return
    if not isinstance(parent, (exp.Cast, exp.TryCast)) or node.this not in _CAST_TYPES:
        allowed = "INTEGER, BIGINT, DOUBLE, DECIMAL, VARCHAR, BOOLEAN, DATE, TIMESTAMP"
        raise refuse(f"type '{node.sql(dialect=DIALECT)}' is not allowed; use one of {allowed}", parent or node)


def _inline_segment(
    node: exp.Anonymous, resolve_segment: Callable[[str], str] | None, refuse: Callable[..., FilterError]
) -> exp.Expression:
    """``in_segment('Name')`` -> ``(<that segment's SQL>)``; the resolver owns lookup and cycles."""
    args = node.expressions
    if len(args) != 1 or not isinstance(args[0], exp.Literal) or not args[0].is_string:
        raise refuse("in_segment takes one quoted segment name, e.g. in_segment('Best customers')", node)
    if resolve_segment is None:
        raise refuse("in_segment is not available here", node)
    try:
        sql = resolve_segment(args[0].name)
    except FilterError as error:
        if type(error) is not FilterError:  # FieldUnavailable, the catalog's cycle signal: keep
            error.position = _start(node)
            raise
        # The resolver says what is wrong ("unknown segment 'x'"); this call says where.
        raise refuse(str(error), node, error.suggestion) from None
    inlined = exp.Paren(this=sqlglot.parse_one(sql, read=DIALECT))
    for part in inlined.walk():  # positions in the inlined SQL would point into another text
        part.meta.pop("start", None)
        part.meta.pop("end", None)
    inlined.meta.update({key: node.meta[key] for key in ("start", "end") if key in node.meta})
    return inlined


# --------------------------------------------------------------------------------------------
# the type probe

_probe_lock = threading.Lock()
_probe_connection: duckdb.DuckDBPyConnection | None = None


def _probe(sql: str, tree: exp.Expression, expr: str, columns: Mapping[str, str]) -> None:
    """Let DuckDB type-check and constant-fold the filter against a two-row stand-in table.

    Row one holds NULLs, row two a sample of each declared type (1, 'x', TRUE, 2000-01-01), so a
    text column compared with a number fails here ('x' does not convert) as it would on real
    data. On failure the smallest failing sub-expression gives the position.
    """
    relation = _stand_in(tuple(columns.items()))
    kind, error = _evaluate(sql, relation)
    if error is None:
        if kind != "BOOLEAN":
            message = f"a filter must be a condition (true/false), but this is {kind}; compare it, e.g. '... > 0'"
            raise FilterError(format_at(message, expr, 0), 0)
        return
    culprit = _culprit(tree, relation)
    position = _start(culprit)
    raise FilterError(format_at(_duckdb_message(error), expr, position), position)


@functools.lru_cache(maxsize=8)
def _stand_in(columns: tuple[tuple[str, str], ...]) -> str:
    """The stand-in as a table of the probe connection (named after its columns), made once:
    binding the two-row SELECT of ~55 columns again for every probe cost ~5 ms, a quarter of
    a second for the 44 built-in segments at every open."""
    name = f"stand_in_{hashlib.sha256(repr(columns).encode()).hexdigest()[:16]}"
    with _probe_lock:
        _connection().execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {_stand_in_rows(columns)}")
    return f"{name} AS customer_features"


def _stand_in_rows(columns: tuple[tuple[str, str], ...]) -> str:
    nulls, samples = [], []
    for name, kind in columns:
        column = exp.to_identifier(name, quoted=True).sql(dialect=DIALECT)
        upper = kind.upper()
        if "[" in upper or upper.startswith(("STRUCT", "MAP", "LIST", "UNION")):
            sample = "NULL"
        elif any(word in upper for word in ("CHAR", "TEXT", "STRING")):
            sample = "'x'"
        elif "BOOL" in upper:
            sample = "TRUE"
        elif "DATE" in upper or "TIME" in upper:
            sample = "'2000-01-01 00:00:00'"
        elif "INTERVAL" in upper:
            sample = "'1 day'"
        else:
            sample = "1"
        nulls.append(f"CAST(NULL AS {kind}) AS {column}")
        samples.append(f"TRY_CAST({sample} AS {kind})")
    if not nulls:
        return "(SELECT 1 AS one_row) AS customer_features"
    return f"(SELECT {', '.join(nulls)} UNION ALL SELECT {', '.join(samples)}) AS customer_features"


def _connection() -> duckdb.DuckDBPyConnection:
    global _probe_connection
    if _probe_connection is None:
        _probe_connection = duckdb.connect(":memory:")
    return _probe_connection


def _evaluate(sql: str, relation: str) -> tuple[str | None, str | None]:
    """(DuckDB type of ``sql``, None) if it runs over the stand-in, else (None, error message)."""
    with _probe_lock:
        try:
            rows = _connection().execute(f"SELECT typeof(({sql})), ({sql}) FROM {relation}").fetchall()
        except duckdb.Error as error:
            return None, str(error)
    kind = rows[0][0] if rows else "NULL"
    return {'"NULL"': "NULL"}.get(kind, kind), None


def _culprit(node: exp.Expression, relation: str) -> exp.Expression:
    for child in node.iter_expressions():
        if isinstance(child, (exp.Identifier, exp.Var, exp.DataType, exp.DataTypeParam)):
            continue
        child_sql = child.sql(dialect=DIALECT, identify=True, comments=False)
        if _evaluate(child_sql, relation)[1] is not None:
            return _culprit(child, relation)
    return node


def _duckdb_message(error: str) -> str:
    """A DuckDB error (multi-line, with a LINE/caret excerpt of our probe SQL) -> one line."""
    line = _one_line(error.split("\n")[0])
    line = re.sub(r"^[A-Za-z ]*Error: ", "", line)
    source = re.search(r"Could not convert string '.*' to (\w+) when casting from source column (\w+)", line)
    if source:
        field, kind = source.group(2), source.group(1)
        return f"field '{field}' is text and cannot be used as {kind}; compare it with a quoted value"
    if line.startswith("Could not convert string 'x'"):
        return "text cannot be compared with a number or date here; quote the value"
    mismatch = re.search(r"No function matches the given name and argument types '(.*)'\.", line)
    if mismatch:
        call = mismatch.group(1).replace("!~~*", "NOT ILIKE").replace("!~~", "NOT LIKE")
        call = call.replace("~~*", "ILIKE").replace("~~", "LIKE")
        return f"wrong argument types: {call}"
    line = line.replace(" - an explicit cast is required", "")
    return f"type error: {line}" if error.startswith("Binder Error") else f"invalid value: {line}"


# --------------------------------------------------------------------------------------------
# helpers


def _start(node: exp.Expression) -> int | None:
    """0-based offset of the leftmost token of ``node`` that sqlglot recorded a position for."""
    starts = [n.meta["start"] for n in node.walk() if n._meta and "start" in n.meta]
    return min(starts) if starts else None


def _typed_name(node: exp.Func, expr: str) -> str | None:
    """The function name as the user typed it, or None when it was an operator or keyword.

    sqlglot renames (datediff -> DATE_DIFF) and turns operators into functions (``~`` ->
    REGEXP_LIKE), so only a recorded source position tells what the user wrote.
    """
    meta = node._meta or {}
    if "start" in meta and "end" in meta:
        return expr[meta["start"] : meta["end"] + 1]
    return node.name if isinstance(node, exp.Anonymous) else None


def _token_position(expr: str, types: set[TokenType] | None, text: str | None = None) -> int | None:
    """Offset of the first token of one of ``types`` (or with this upper-case ``text``)."""
    try:
        tokens: list[Token] = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(expr)
    except Exception:  # noqa: BLE001 - a position is a nicety
        return None
    for token in tokens:
        if (types and token.token_type in types) or (text and token.text.upper() == text):
            return token.start
    return None


def _closest(name: str, candidates: list[str]) -> str | None:
    by_lower = {candidate.lower(): candidate for candidate in candidates}
    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _one_line(text: str) -> str:
    text = _ANSI.sub("", text)
    text = re.sub(r"<class '[\w.]*?(\w+)'>", r"\1", text)
    return " ".join(text.split())
