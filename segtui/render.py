"""Rich renderings of engine results for the terminal (the CLI's human output)."""

from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from segtui.core.check import CheckReport


def _table(title: str, *columns: str, right: tuple[str, ...] = ()) -> Table:
    """A left-titled, edgeless table; the columns named in ``right`` are right-aligned."""
    table = Table(title=title, title_justify="left", show_edge=False)
    for name in columns:
        table.add_column(name, justify="right" if name in right else "left")
    return table


def render_check(report: CheckReport) -> Group:
    """The `segtui check` report: tables, coverage, feature families and data problems."""
    head = Text()
    head.append("Source ", style="bold").append(report.source)
    if report.mapping_file:
        head.append("  mapped by ", style="dim").append(report.mapping_file)
    summary = Text(
        f"{report.customers:,} customers; orders {report.orders_from or '-'} .. {report.orders_to or '-'}"
        + (f"; events {report.events_from} .. {report.events_to}" if report.events_from else "")
    )

    tables = _table("Tables", "table", "from", "rows", "columns", right=("rows",))
    for t in report.tables:
        columns = ", ".join(t.columns)
        status = Text(columns) if t.usable else Text(f"unusable: {t.problem}", style="red")
        tables.add_row(t.name, escape(t.origin), f"{t.rows:,}" if t.rows is not None else "-", status)

    features = Table(title="Features", title_justify="left", show_edge=False)
    features.add_column("available here", ratio=1)
    features.add_column("unavailable", ratio=1)
    by_reason: dict[str, list[str]] = {}
    for name, reason in report.features_unavailable.items():
        by_reason.setdefault(reason, []).append(name)
    features.add_row(
        Text(", ".join(report.features_available) or "none"),
        Text("\n".join(f"{reason}: {', '.join(names)}" for reason, names in by_reason.items()) or "none", style="dim"),
    )

    parts = [head, summary, Text(""), tables, Text(""), features, Text("")]
    if report.source_format:  # a known export: what was read from which of its columns
        parts[2:2] = [Text(""), Text(f"Read as a {report.source_format}:", style="bold"),
                      *(Text(f"  {note}") for note in report.notes)]
    if report.money:
        parts += [Text("Money written as text", style="bold")] + [Text(f"  {note}") for note in report.money] + [Text("")]
    if report.problems:
        problems = _table("Data problems", "table", "problem", "rows", "example", right=("rows",))
        for p in report.problems:
            problems.add_row(p.table, p.problem, f"{p.count:,}", escape(p.example or ""))
        parts += [problems, Text("")]
        hints = [p.hint for p in report.problems if p.hint and p.hint not in report.verdict]  # said once, in the verdict
        if hints:
            parts += [Text(f"hint: {hint}", style="dim") for hint in hints] + [Text("")]
    else:
        parts.append(Text("No data problems found."))
    parts.append(Text(report.verdict, style="bold green" if report.usable else "bold red"))
    return Group(*parts)


def _number(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _stats_text(stats: dict | None) -> str:
    if not stats:
        return ""
    if "top" in stats:
        return ", ".join(f"{v} ({n:,})" for v, n in stats["top"])
    return f"{_number(stats.get('min'))} .. {_number(stats.get('max'))}"


def render_fields(rows: list[dict], as_of) -> Table:
    """`segtui fields`: one row per feature, unavailable ones dimmed with the reason."""
    table = Table(title=f"Features as of {as_of}", title_justify="left", show_edge=False)
    for name in ("field", "type", "unit", "in this shop", "description"):
        table.add_column(name, overflow="fold")
    for r in rows:
        here = Text(_stats_text(r["stats"])) if r["available"] else Text(f"unavailable: {r['reason']}", style="dim")
        table.add_row(r["name"], r["type"], r["unit"], here, Text(r["description"]), style=None if r["available"] else "dim")
    return table


def render_segments(rows: list[dict], total: int, as_of, source: str) -> Table:
    """`segtui segments`: grouped, counts right-aligned with thousands separators."""
    table = _table(f"{escape(source)} · as of {as_of} · {total:,} customers", "group", "segment", "customers", "%", "note",
                   right=("customers", "%"))
    previous = None
    for r in rows:
        group = Text(r["group"]) if r["group"] != previous else ""
        previous = r["group"]
        if r["available"]:
            note = "overrides built-in" if r["overrides_builtin"] else ("" if r["builtin"] else "yours")
            table.add_row(group, Text(r["name"]), f"{r['count']:,}", f"{r['percent']:.1f}", note)
        else:
            why = f"broken: {r['reason']}" if r["broken"] else f"unavailable: {r['reason']}"
            table.add_row(group, Text(r["name"]), "-", "-", Text(why), style="dim")
    return table


def render_customer(story, shop: str) -> Group:
    """`segtui customer`: who, key features beside the shop's median, segments, timeline."""
    from segtui.format import feature, moment, order_line

    head = Text()
    head.append(f"Customer {story.customer_id}", style="bold").append(f"  {shop} · as of {story.as_of}", style="dim")
    parts: list = [head]
    if story.contacts:
        parts.append(Text(" · ".join(story.contacts.values())))
    parts.append(Text(""))
    key = _table("Key features", "feature", "value", "shop median", right=("value", "shop median"))
    for k in story.key:
        key.add_row(k.name, feature(k.value, k.unit), feature(k.median, k.unit) if k.median is not None else "")
    parts += [key, Text("")]
    parts.append(Text.assemble(("Segments: ", "bold"), ", ".join(story.segments) or "none"))
    if story.near:
        from segtui.core.customer import NEAR_SHOWN

        more = len(story.near) - NEAR_SHOWN
        near = "; ".join(f"{n.segment} (misses {n.missed})" for n in story.near[:NEAR_SHOWN])
        parts.append(Text.assemble(("Nearly in: ", "bold"), near + (f"; and {more} more (--json)" if more > 0 else "")))
    parts.append(Text(""))
    shown = f"{story.offset + 1}–{story.offset + len(story.timeline)} of {story.timeline_total:,}" \
        if story.timeline else f"none of {story.timeline_total:,}"  # fmt: skip
    timeline = _table(f"Timeline, newest first ({shown})", "when", "what", "ref", "amount", "", right=("amount",))
    for m in story.timeline:
        when, amount = moment(m)
        timeline.add_row(when, m.kind, escape(m.ref or ""), amount, escape(m.note))
        for line in m.lines:
            label, price = order_line(line)
            timeline.add_row("", "", escape("  " + label), price, "", style="dim")
    parts.append(timeline)
    if story.offset + len(story.timeline) < story.timeline_total:
        parts.append(Text(f"more: --offset {story.offset + len(story.timeline)}", style="dim"))
    return Group(*parts)


def render_trend(points, label: str, source: str, every: str) -> Table:
    """`segtui trend`: one row per as-of date, the change from the previous one and a bar."""
    from segtui.format import bar, signed

    top = max((p.count for p in points), default=0) or 1
    table = _table(f"{escape(source)} · {escape(label)} · by {every}", "as of", "customers", "%", "change", "",
                   right=("customers", "%", "change"))
    previous = None
    for p in points:
        change = "" if previous is None else signed(p.count - previous)
        table.add_row(p.as_of.isoformat(), f"{p.count:,}", f"{p.percent:.1f}", change, bar(p.count / top, 20))
        previous = p.count
    return table


def render_transitions(result) -> Group:
    """`segtui transitions`: the matrix, rows at the first date and columns at the second,
    headed by numbers (the names are long) with the totals that are the counts at each date."""
    names = result.columns
    number = {name: str(index + 1) for index, name in enumerate(names)}
    width = max(len(f"{n:,}") for n in [*result.cells.values(), *map(result.row_total, result.rows),
                                       *map(result.column_total, result.columns)])
    table = Table(title=f"{escape(result.group)}: from {result.start} (rows) to {result.end} (columns)",
                  title_justify="left", show_edge=False, caption="rows sum to the counts at the first date, columns "
                  "to the counts at the second", caption_justify="left")
    table.add_column("from \\ to", no_wrap=True, overflow="ellipsis", min_width=12)
    for name in names:
        table.add_column(number[name], justify="right", no_wrap=True, min_width=width)
    table.add_column("total", justify="right", style="bold", no_wrap=True, min_width=width)
    for row in result.rows:
        head = f"{number[row]} {row}" if row in number else f"  {row}"
        table.add_row(Text(head), *(f"{result.cells[(row, col)]:,}" for col in names), f"{result.row_total(row):,}")
    table.add_row(Text("  total", style="bold"), *(f"{result.column_total(col):,}" for col in names), "", style="bold")
    parts = [table]
    if result.left_out:
        parts.append(Text("left out: " + "; ".join(f"{n} ({why})" for n, why in result.left_out.items()), style="dim"))
    return Group(*parts)


def render_diff(label: str, result) -> Table:
    """`segtui diff`: the counts at both dates and who entered, left and stayed."""
    table = _table(f"{escape(label)}: {result.start} → {result.end}", "", "customers", right=("customers",))
    for name, n in ((f"at {result.start}", result.count_from), ("entered", result.entered), ("left", result.left),
                    ("stayed", result.stayed), (f"at {result.end}", result.count_to)):
        table.add_row(name, f"{n:,}")
    return table


def render_overlap(result) -> Group:
    """`segtui overlap`: each segment's size, the Venn regions (two or three segments) and the pairs."""
    sizes = _table(f"as of {result.as_of} · {result.union:,} customers in at least one", "segment", "customers",
                   right=("customers",))
    for name, n in zip(result.names, result.counts):
        sizes.add_row(Text(name), f"{n:,}")
    parts: list = [sizes, Text("")]
    if result.regions:
        regions = _table("Regions (in exactly these)", "segments", "customers", right=("customers",))
        for inside, n in result.regions:
            regions.add_row(Text(" ∩ ".join(inside)), f"{n:,}")
        parts += [regions, Text("")]
    pairs = _table("Pairs", "a", "b", "both", "jaccard", right=("both", "jaccard"))
    for a, b, both, jaccard in result.pairs:
        pairs.add_row(Text(a), Text(b), f"{both:,}", "-" if jaccard is None else f"{jaccard:.3f}")
    parts.append(pairs)
    return Group(*parts)


def render_near_misses(label: str, misses, as_of) -> Table:
    """`segtui nearmiss`: per condition, how many meet every other condition but not this one."""
    table = _table(f"{escape(label)} · as of {as_of} · would be in it but for", "#", "condition", "customers",
                   right=("#", "customers"))
    for index, miss in enumerate(misses, start=1):
        table.add_row(str(index), Text(miss.condition), f"{miss.count:,}")
    return table


def render_prediction(prediction, source: str) -> Group:
    """The `segtui predict` report: both models' parameters and log-likelihoods and, with a
    holdout, its predicted against actual purchase days by calibration frequency.

    ``prediction`` is a ``segtui.core.predict.Prediction``; not imported here, so that the
    other commands' renderings do not load numpy."""
    unit = prediction.unit
    head = Text()
    head.append("Source ", style="bold").append(source)
    head.append(f"  calibration to {prediction.calibration_end}, {prediction.customers:,} buyers, unit {unit}")
    if prediction.fitted and prediction.fitted < prediction.customers:
        head.append(f"\nfitted to {prediction.fitted:,} buyers drawn at random (a fixed seed), every buyer predicted",
                    style="dim")
    b, g = prediction.bgnbd, prediction.gamma_gamma
    purchases = _table("BG/NBD (purchases)", "r", "alpha", "a", "b", "log-likelihood", "buyers",
                       right=("r", "alpha", "a", "b", "log-likelihood", "buyers"))
    purchases.add_row(f"{b.r:.4g}", f"{b.alpha:.4g}", f"{b.a:.4g}", f"{b.b:.4g}", f"{b.loglik:,.1f}",
                      f"{prediction.fitted or prediction.customers:,}")  # the buyers the likelihood sums over
    spend = _table("Gamma-Gamma (spend per purchase)", "p", "q", "gamma", "mean spend", "log-likelihood",
                   "repeat buyers", right=("p", "q", "gamma", "mean spend", "log-likelihood", "repeat buyers"))
    spend.add_row(f"{g.p:.4g}", f"{g.q:.4g}", f"{g.gamma:.4g}",
                  f"{g.mean_spend:,.2f}" if g.mean_spend is not None else "none (q <= 1)", f"{g.loglik:,.1f}",
                  f"{g.customers:,}")
    parts = [head, Text(""), purchases]
    if b.same_dropout:
        parts.append(Text(f"Every buyer drops out after a repeat purchase with about the same probability, "
                          f"{b.a / (b.a + b.b):.2%}: a + b is at its cap.", style="dim"))
    parts += [Text(""), spend]
    h = prediction.holdout
    if h is not None:
        table = _table(f"Holdout to {h.end} ({h.length:g} {unit}s): repeat purchase days",
                       "calibration frequency", "customers", "predicted", "actual", right=("customers", "predicted", "actual"))
        for row in h.by_frequency:
            table.add_row(row["frequency"], f"{row['customers']:,}", f"{row['predicted']:,.1f}", f"{row['actual']:,}")
        table.add_section()
        table.add_row("total", f"{prediction.customers:,}", f"{h.predicted:,.1f}", f"{h.actual:,}", style="bold")
        parts += [Text(""), table]
    return Group(*parts)
