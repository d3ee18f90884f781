"""One self-contained query for a warehouse or Spark: the features (or a segment's members) of a
shop as of a date, from the portable reference SQL of exactly the families asked for.

The query reads the contract's table names (``orders``, ``customers``, ``order_items``...,
after the mapping: a warehouse's tables are expected to have the contract's columns) and is
built the way the reference engine builds the feature table on DuckDB, but as common table
expressions instead of tables: the as-of bases (``orders_asof``...) and their empty stand-ins
for tables the shop lacks, then each family's SELECT, then the final join
(``build._final_sql``), then the filter. sqlglot writes it in the dialect asked for; the
reference files are kept to what it transpiles faithfully (tests/test_feature_sql.py lints
them for Spark). Families whose values come from a Python fit (the predictive family) have
no SQL of their own: they are unavailable here and say so.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from segtui.core.features import build
from segtui.core.features.catalog import _EMPTY_BASES, load_query, render
from segtui.errors import SegtuiError

#: The dialects ``segtui sql`` writes (sqlglot's names).
DIALECTS = ("duckdb", "spark", "trino", "bigquery", "snowflake", "postgres")

#: DuckDB type names of the empty stand-ins, as sqlglot reads them in every dialect.
_COLUMN = re.compile(r"\s*(\w+)\s+(\w+)\s*")


class PortableError(SegtuiError):
    """A query that cannot be written for the warehouse as asked (one line)."""


def _select(sql: str) -> exp.Expression:
    """The SELECT of a file's one statement (after ``CREATE ... AS``), parsed as DuckDB."""
    statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None and not isinstance(s, exp.Semicolon)]
    if len(statements) != 1:
        raise PortableError(f"expected one statement, found {len(statements)}")
    tree = statements[0]
    return tree.expression if isinstance(tree, exp.Create) else tree


def _with_key(tree: exp.Expression) -> str:
    """The name of a SELECT's WITH argument (sqlglot 30 calls it ``with_``, earlier ones ``with``)."""
    return "with_" if "with_" in tree.args else "with"


def _own_ctes(select: exp.Expression, owner: str) -> exp.Expression:
    """``select`` with the CTEs of its own WITH renamed ``<owner>__<name>`` (and every reference
    to them): two files may both call a step ``per_customer``, and Spark lifts nested CTEs to
    the top, where names must differ."""
    own = select.args.get(_with_key(select))
    if own is None:
        return select
    names = {cte.alias: f"{owner}__{cte.alias}" for cte in own.expressions}
    for table in select.find_all(exp.Table):
        if not table.args.get("db") and table.name in names:
            alias = table.alias or table.name
            table.set("this", exp.to_identifier(names[table.name]))
            if not table.alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    for cte in own.expressions:
        cte.set("alias", exp.TableAlias(this=exp.to_identifier(names[cte.alias])))
    return select


def _empty(columns: str, id_type: str) -> exp.Expression:
    """A SELECT of no rows with the typed columns of an empty stand-in."""
    casts = []
    for column in columns.format(id=id_type).split(","):
        name, kind = _COLUMN.fullmatch(column).groups()
        casts.append(f"CAST(NULL AS {kind}) AS {name}")
    return _select(f"SELECT {', '.join(casts)} WHERE 1 = 0")


def feature_select(builder: build.FeatureBuilder, fields: Collection[str] | None = None) -> exp.Select:
    """The feature table of ``builder``'s shop and date as one SELECT with CTEs (DuckDB's
    syntax tree; write it with ``.sql(dialect=...)``): ``fields`` (None: every available one),
    with customer_id first, one row per customer of the universe."""
    if builder.engine != "reference":
        raise PortableError("the portable query is made from the reference files (engine 'reference')")
    wanted = None if fields is None else set(fields)
    available = [f for f in builder.available if wanted is None or f.name in wanted]
    unknown = sorted((wanted or set()) - set(builder.available_names))
    if unknown:
        name = unknown[0]
        if name in builder.unavailable:
            raise PortableError(f"field '{name}' is not available here: {builder.unavailable[name]}")
        close = difflib.get_close_matches(name, builder.available_names, n=1)
        raise PortableError(f"unknown field '{name}'" + (f"; did you mean '{close[0]}'?" if close else
                                                         "; segtui fields lists them"))
    families = builder.families_for([f.name for f in available])
    files = {family: builder.file(family) for family in families}
    made = [query for query in files.values() if not query.is_columns]
    bases = builder.bases_read(made)
    bases += [] if "feature_asof" in bases else ["feature_asof"]
    ctes: list[tuple[str, exp.Expression]] = []
    id_type = build._id_type(builder.con)
    for name in bases:
        if name in builder._bases:
            ctes.append((name, _own_ctes(_select(render(load_query(builder._bases[name]).sql, builder.as_of)), name)))
            continue
        stand_in = next((columns for table, (empty, columns) in _EMPTY_BASES.items()
                         if empty == name and table not in builder.tables), None)  # fmt: skip
        if stand_in is None:
            raise PortableError(f"no as-of object {name}")
        ctes.append((name, _empty(stand_in, id_type)))
    for query in made:
        ctes.append((query.table, _own_ctes(_select(render(query.sql, builder.as_of)), query.table)))
    final = _select(build._final_sql(tuple(available), files, builder.as_of, {}))
    for name, select in ctes:
        final = final.with_(name, as_=select, copy=False)
    return final


def query(builder: build.FeatureBuilder, dialect: str, where: str | None = None,
          fields: Collection[str] | None = None) -> str:  # fmt: skip
    """The query text in ``dialect``: the customer_id of the members of compiled filter SQL
    ``where`` (None: every customer), or, with ``fields``, those feature columns too."""
    columns = ["customer_id", *(f for f in (fields or ()) if f != "customer_id")]
    outer = (f"SELECT {', '.join(columns)} FROM customer_features"
             + (f" WHERE {where}" if where is not None else "") + " ORDER BY customer_id")
    return _over_features(builder, dialect, outer, set(fields or ()) | _fields_of([where] if where else []))


def counts_query(builder: build.FeatureBuilder, dialect: str, wheres: list[str]) -> str:
    """One row: all customers, then the members of each compiled filter SQL of ``wheres``."""
    counts = [f"COALESCE(count_if({where}), 0) AS c{i}" for i, where in enumerate(wheres)]
    outer = f"SELECT {', '.join(['count(*) AS total', *counts])} FROM customer_features"
    return _over_features(builder, dialect, outer, _fields_of(wheres))


def _fields_of(wheres: list[str]) -> set[str]:
    return {c.name for where in wheres for c in _select(f"SELECT 1 WHERE {where}").find_all(exp.Column)}


def _over_features(builder: build.FeatureBuilder, dialect: str, outer: str, needed: set[str]) -> str:
    """``outer`` (a SELECT over ``customer_features``) with the feature table of the fields
    ``needed`` and everything it reads as its CTEs, in ``dialect``."""
    if dialect not in DIALECTS:
        raise PortableError(f"unknown dialect '{dialect}'; use one of {', '.join(DIALECTS)}")
    features = feature_select(builder, sorted(needed))
    key = _with_key(features)
    ctes = features.args.pop(key, None)
    tree = _select(outer).with_("customer_features", as_=features, copy=False)
    if ctes is not None:  # the bases and families first, then the feature table that reads them
        tree.args[key].set("expressions", [*ctes.expressions, *tree.args[key].expressions])
    try:
        return write(tree, dialect)
    except UnsupportedError as error:
        raise PortableError(_unsupported(builder, dialect, needed, error)) from None


def write(tree: exp.Expression, dialect: str) -> str:
    """``tree`` in ``dialect``; what sqlglot knows the dialect lacks raises UnsupportedError
    rather than being written approximately. The rewrites of :data:`_REWRITES` come first."""
    for rewrite in _REWRITES.get(dialect, ()):
        tree = tree.transform(rewrite, copy=False)
    return tree.sql(dialect=dialect, pretty=True, unsupported_level=ErrorLevel.RAISE)


def _round_numeric(node: exp.Expression) -> exp.Expression:
    """Postgres rounds to a number of places only a NUMERIC: ROUND(CAST(x AS NUMERIC), n),
    back to a double."""
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None and not node.meta.get("numeric"):
        node.set("this", exp.cast(node.this, "DECIMAL"))
        node.meta["numeric"] = True
        return exp.cast(node, "DOUBLE")
    return node


#: What sqlglot writes for a dialect that the dialect's engine refuses, found by running every
#: feature there (tests/test_postgres.py), rewritten on the syntax tree before writing.
_REWRITES = {"postgres": (_round_numeric,)}


def _unsupported(builder: build.FeatureBuilder, dialect: str, needed: set[str], error: UnsupportedError) -> str:
    """Which of the families behind ``needed`` cannot be written for ``dialect``, in one line."""
    reason = str(error).strip().splitlines()[0]
    fields = {f.name: f.family for f in builder.available if f.name in needed}
    for family in sorted(set(fields.values())):
        mine = sorted(name for name, owner in fields.items() if owner == family)
        try:
            write(feature_select(builder, mine), dialect)
        except UnsupportedError as own:
            return (f"{', '.join(mine)} ({family} features) cannot be written for {dialect}: "
                    f"{str(own).strip().splitlines()[0]}")
    return f"this query cannot be written for {dialect}: {reason}"
