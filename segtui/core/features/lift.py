"""Build the features of many as-of dates in one pass per family: the date as a column.

The as-of date enters the build only in the base files (``:as_of``). Here it becomes a column,
``__d``, of every dated relation: the base views cross-join a table of the dates, and every
SELECT that reads a dated relation carries ``__d`` on, groups and partitions by it, and joins
two dated relations on it (sqlglot rewrites the same files the builder runs). One pass per
family then serves a dozen dates: the segment history of a small shop, where each date's build
is mostly each query's fixed costs (planning, pipeline set-up). A query the rewrite does not
know raises :class:`LiftError`; the caller then builds date by date.

A family whose value at a date follows from one pass over the last date's rows has a file
written for many dates beside its own (``NAME.dates.sql``, ``catalog.dates_file``), run instead
of its rewrite: the rewrite would pair pricier.sql's order lines with their views once per date
(0.15 s of the demo's pass; the file: 0.03 s). Tested against each date's own build, every
field at every date, and against the history built date by date, every segment at every date,
on generated shops (tests/test_over_time.py).
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlglot
from sqlglot import exp

DATE = "__d"
DATES = "__dates"
#: The one family computed in Python that a pass knows: its fits run per date beside the pass.
PREDICTIONS = "segtui.core.predict:register_scores"


class LiftError(ValueError):
    """A construct the rewrite does not handle."""


def lift(sql: str, dated: set[str]) -> list[str]:
    """The statements of ``sql`` rewritten over the dated relations ``dated`` (names; extended
    by what the statements create when they read a dated relation). In ``sql`` the as-of date
    is ``__dates.as_of``. Kept per process: parsing and printing is ~20 ms a family."""
    statements, created = _lifted(sql, frozenset(dated))
    dated |= created
    return list(statements)


@functools.lru_cache(maxsize=256)
def _lifted(sql: str, dated: frozenset[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    out, created, known = [], set(), set(dated)
    for tree in sqlglot.parse(sql, read="duckdb"):
        if tree is None:
            continue
        if isinstance(tree, exp.Create):
            if _lift(tree.expression, set(known)):
                name = tree.this.name if isinstance(tree.this, exp.Table) else tree.this.this.name
                created.add(name)
                known.add(name)
        out.append(tree.sql(dialect="duckdb"))
    return tuple(out), frozenset(created)


def _lift(node: exp.Expression, dated: set[str]) -> bool:
    """Lift ``node`` (a query) in place; whether its rows are dated."""
    if isinstance(node, exp.Subquery):
        return _lift(node.this, dated)
    if isinstance(node, exp.Union):
        left, right = _lift(node.left, dated), _lift(node.right, dated)
        if left != right:
            raise LiftError(f"a UNION of dated and undated rows: {node.sql()[:80]}")
        return left
    if not isinstance(node, exp.Select):
        raise LiftError(f"not a query: {type(node).__name__}")
    local = set(dated)
    with_ = node.args.get("with_")
    if with_ is not None:
        for cte in with_.expressions:
            if _lift(cte.this, local):
                local.add(cte.alias)
    sources = []  # (the FROM or JOIN, the alias to qualify with, whether its rows are dated)
    from_ = node.args.get("from_")
    joins = node.args.get("joins") or []
    for holder in ([from_] if from_ is not None else []) + joins:
        source = holder.this
        if isinstance(source, exp.Subquery):
            is_dated = _lift(source.this, local)
            alias = source.alias
        elif isinstance(source, exp.Table):
            is_dated = source.name in local
            alias = source.alias or source.name
        else:
            is_dated, alias = False, None
        sources.append((holder, alias, is_dated))
    dated_ins = []  # x IN (a dated query): becomes (x, __d) IN (SELECT (y, __d) ...)
    for sub in node.find_all(exp.In):
        query = sub.args.get("query")
        if query is not None and _enclosing_select(sub) is node:
            if _lift(query.this if isinstance(query, exp.Subquery) else query, local):
                dated_ins.append(sub)
    uses_dates = any(col.table == DATES for col in node.find_all(exp.Column) if _enclosing_select(col) is node)
    first = next(((h, a) for h, a, d in sources if d), None)
    if first is None and not uses_dates:
        if dated_ins:
            raise LiftError("an undated query filtered by a dated one")
        return False
    if first is None:  # a base: cross join the dates
        if from_ is None:
            node.set("from_", exp.From(this=exp.to_table(DATES)))
        else:
            node.set("joins", list(joins) + [exp.Join(this=exp.to_table(DATES), kind="CROSS")])
        date_col = exp.column("as_of", table=DATES)
    else:
        date_col = exp.column(DATE, table=first[1])
        for holder, alias, is_dated in sources:
            if not is_dated or holder is first[0]:
                continue
            condition = exp.EQ(this=exp.column(DATE, table=alias), expression=date_col.copy())
            if isinstance(holder, exp.From):
                raise LiftError("two dated sources, the first in a FROM after another")
            if holder.args.get("kind") == "CROSS" or (holder.args.get("on") is None and holder.args.get("using") is None):
                holder.set("kind", None)
                holder.set("on", condition)
            elif holder.args.get("using"):
                holder.set("using", holder.args["using"] + [exp.to_identifier(DATE)])
            else:
                holder.set("on", exp.and_(holder.args["on"], condition))
        outer = [alias for holder, alias, is_dated in sources if is_dated and isinstance(holder, exp.Join)
                 and (holder.args.get("side") or "").upper() in ("FULL", "RIGHT")]
        if outer:  # a row of one side only has the date of that side
            date_col = exp.Coalesce(this=date_col, expressions=[exp.column(DATE, table=a) for a in outer])
    if node.args.get("limit") or node.args.get("order"):
        raise LiftError(f"ORDER BY / LIMIT in a dated query: {node.sql()[:80]}")
    projections = node.expressions
    if not (len(projections) == 1 and isinstance(projections[0], exp.Star) and first is not None):
        node.set("expressions", projections + [exp.alias_(date_col.copy(), DATE)])
    group = node.args.get("group")
    if group is not None:
        group.set("expressions", group.expressions + [date_col.copy()])
    elif any(_enclosing_select(agg) is node and not agg.find_ancestor(exp.Window) for agg in node.find_all(exp.AggFunc)):
        node.set("group", exp.Group(expressions=[date_col.copy()]))
    for window in node.find_all(exp.Window):
        if _enclosing_select(window) is node:
            window.set("partition_by", (window.args.get("partition_by") or []) + [date_col.copy()])
    for sub in dated_ins:
        query = sub.args["query"]
        inner = query.this if isinstance(query, exp.Subquery) else query
        picked = inner.expressions[0]
        inner.set("expressions", [exp.Tuple(expressions=[picked.copy(), exp.column(DATE)])] + inner.expressions[1:-1])
        sub.set("this", exp.Tuple(expressions=[sub.this.copy(), date_col.copy()]))
    return True


def _enclosing_select(node: exp.Expression) -> exp.Expression | None:
    return node.find_ancestor(exp.Select)


@dataclass(frozen=True)
class Pass:
    """A one-pass build rewritten and ready to run (:func:`plan`), or being rewritten meanwhile
    (:func:`plan_beside`): the statements in order, what they make, and where the predictions
    are registered. ``parts``: how many ("made", ...) steps come (the progress's unit)."""

    builder: Any
    dates: tuple[date, ...]
    steps: Iterable[tuple[str, Any]]  # ("run", statement) | ("made", ((kind, name), ...)) | ("fits", None)
    fits: bool  # the predictions' fits run beside the pass
    parts: int
    rewritten: threading.Event | None = None  # set once the steps are all rewritten (plan_beside)


def plan(builder, dates: Sequence[date], fields: Collection[str] | None) -> Pass:
    """Rewrite what :func:`build_at_dates` runs for ``fields`` at ``dates``, running nothing
    but the value lists' scan at ``builder``'s date (the last of ``dates``: its lists hold every
    earlier date's). The rewriting is the Python part of a pass (~0.15 s the first time in a
    process on the demo shop, twice that beside a build): a caller may plan while its
    connection's cores are busy, and run the plan later."""
    steps, fits, parts = _planning(builder, dates, fields)
    return Pass(builder, tuple(dates), tuple(steps), fits, parts)


def plan_beside(builder, dates: Sequence[date], fields: Collection[str] | None) -> Pass:
    """:func:`plan`, the rewriting in a thread of its own whose steps :func:`build_at_dates`
    runs as they come: DuckDB builds each family (the interpreter free) while the next ones are
    rewritten. For a pass run at once. A query the rewrite does not know raises
    :class:`LiftError` from :func:`build_at_dates`, once the steps before it ran."""
    steps, fits, parts = _planning(builder, dates, fields)
    handed: queue.Queue = queue.Queue()
    end = object()
    rewritten = threading.Event()

    def rewrite() -> None:
        try:
            for step in steps:
                handed.put(step)
            handed.put(end)
        except BaseException as error:  # noqa: BLE001 - raised where the steps are run
            handed.put(error)
        finally:
            rewritten.set()

    threading.Thread(target=rewrite, name="segtui-history-rewrite", daemon=True).start()

    def taken():
        while (step := handed.get()) is not end:
            if isinstance(step, BaseException):
                raise step
            yield step

    return Pass(builder, tuple(dates), taken(), fits, parts, rewritten)


def _planning(builder, dates: Sequence[date], fields: Collection[str] | None):
    """What a plan needs from the connection (the value lists, the id type), found now; the
    steps, rewritten as they are taken (a generator: pure Python, no DuckDB); whether the
    fits run; how many parts."""
    from segtui.core.features.build import _id_type, _placeholders
    from segtui.core.features.catalog import _EMPTY_BASES

    if builder.as_of != max(dates):
        raise LiftError("the builder's date must be the last")
    families = builder.families_for(fields)
    files = {family: builder.file(family) for family in families}
    columns = sorted({c for q in files.values() for c in _placeholders(q)})
    values = {c: v for c, v in builder.values(columns).items() if v is not None}
    bases = builder.bases_read([q for q in files.values() if not q.is_columns]) + ["feature_asof"]
    empty = {base: columns for table, (base, columns) in _EMPTY_BASES.items() if table not in builder.tables}
    id_type = _id_type(builder.con) if any(name in empty for name in bases) else None
    for family, query in files.items():
        if query.computed_by and query.computed_by != PREDICTIONS:
            raise LiftError(f"{family} is computed by {query.computed_by}")
    fits = any(query.computed_by == PREDICTIONS for query in files.values() if not query.is_columns)
    parts = len(bases) + sum(1 for query in files.values() if not query.is_columns)
    return _steps(builder, fields, files, values, bases, empty, id_type), fits, parts


def _steps(builder, fields, files, values, bases, empty, id_type):
    from segtui.core.features.build import _final_sql, _shared
    from segtui.core.features.catalog import dates_file, load_query, render

    dated: set[str] = set()
    for name in bases:
        if name in empty:
            yield "run", f"CREATE OR REPLACE TEMP TABLE {name} ({empty[name].format(id=id_type)}, {DATE} DATE)"
            yield "made", (("TABLE", name),)
            dated.add(name)
            continue
        query = load_query(builder._bases[name])
        yield from (("run", _shared(s)) for s in lift(query.sql.replace(":as_of", f"{DATES}.as_of"), dated))
        yield "made", tuple(query.creates)
    for query in files.values():
        if query.is_columns:
            continue
        if query.computed_by:
            yield "fits", None
            dated.add("predict_scores")
        over_dates = dates_file(query.file)
        if over_dates is not None:  # written for many dates: run as it is
            yield "run", _shared(render(over_dates, builder.as_of, values))
            dated |= {name for _, name in query.creates}
        else:
            yield from (("run", _shared(s)) for s in lift(render(query.sql, builder.as_of, values), dated))
        yield "made", tuple(query.creates)
    names = set(builder.available_names) if fields is None else set(fields)
    chosen = tuple(f for f in builder.available if f.name in names)
    final = _final_sql(chosen, {f: files[f] for f in builder.families_for(f.name for f in chosen)},
                       builder.as_of, values, view=True)
    dated |= {q.table for q in files.values() if not q.is_columns}
    yield from (("run", s) for s in lift(final, dated))


def build_at_dates(planned: Pass, progress: Callable[[float], object] | None = None) -> list[tuple[str, str]]:
    """Make ``customer_features`` as a view of every field the pass was planned for at each of
    its dates (a column ``__d`` says which), in one pass per family, on its builder's
    connection. Returns what it made, (kind, name), for :func:`drop_made`. ``progress``: told
    the share of the parts (bases and families) made, after each."""
    from segtui.core.features.build import FEATURE_TABLE
    from segtui.core.features.catalog import _VALUE_MODE_MACRO

    builder, dates = planned.builder, planned.dates
    con = builder.con
    made: list[tuple[str, str]] = []
    fits: dict[str, object] = {}
    fitter: threading.Thread | None = None
    try:
        builder.drop_bases()
        con.execute(f"CREATE OR REPLACE TEMP TABLE {DATES} AS SELECT unnest(CAST(? AS DATE[])) AS as_of", [list(dates)])
        made.append(("TABLE", DATES))
        con.execute(_VALUE_MODE_MACRO)
        made.append(("MACRO", "value_mode"))
        if planned.fits:
            # the model fits (Python, ~45 ms a date) on a cursor of their own while DuckDB
            # makes the families before them
            cursor = con.cursor()

            def fit() -> None:
                try:
                    if planned.rewritten is not None:
                        # Both the rewrite and these fits are Python: the rewrite first, on
                        # which every family waits, the fits are needed only by the last
                        planned.rewritten.wait()
                    # imported here: numpy and scipy are ~0.3 s of imports (the explorer's may
                    # be under way in another thread), which the families need not wait for
                    from segtui.core.predict import scores

                    fits["parts"] = [scores(cursor, day, **builder.settings) for day in dates]
                except BaseException as error:  # noqa: BLE001 - raised where the family needs them
                    fits["error"] = error
                finally:
                    cursor.close()

            fitter = threading.Thread(target=fit, name="segtui-history-fits", daemon=True)
            fitter.start()
        done = 0
        for kind, payload in planned.steps:
            if kind == "run":
                con.execute(payload)
            elif kind == "made":
                made.extend(payload)
                done += 1
                if progress is not None:
                    progress(min(done / planned.parts, 1.0))
            else:
                fitter.join()
                if "error" in fits:
                    raise fits["error"]
                import numpy as np

                parts = fits["parts"]
                joined = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
                joined[DATE] = np.concatenate([np.full(len(p["customer_id"]), np.datetime64(day, "us"))
                                               for p, day in zip(parts, dates)])  # DuckDB reads a TIMESTAMP
                con.register("predict_scores_at", joined)
                made.append(("REGISTERED", "predict_scores_at"))
                con.execute(f"CREATE OR REPLACE TEMP VIEW predict_scores AS SELECT * REPLACE (CAST({DATE} AS DATE) "
                            f"AS {DATE}) FROM predict_scores_at")
                made.append(("VIEW", "predict_scores"))
        made.append(("VIEW", FEATURE_TABLE))
        return made
    except BaseException:
        drop_made(con, made)
        raise
    finally:
        if fitter is not None:
            fitter.join()  # never leave a query running on the way out


def drop_made(con, made) -> None:
    """Drop what :func:`build_at_dates` made."""
    for kind, name in reversed(made):
        try:
            if kind == "REGISTERED":
                con.unregister(name)
            else:
                con.execute(f"DROP {kind} IF EXISTS {name}")
        except Exception:  # noqa: BLE001 - best effort
            pass
