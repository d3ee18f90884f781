"""The detail pane: the selection's description and filter, and its profile against everyone.

Rendering only: the numbers come from ``segtui.core.answers.profile`` (asked in a worker). Bars are
sized to the pane's width and redrawn on resize; all user and data strings go in as ``Text``
(never markup), so a segment called ``[bold]`` prints literally.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from segtui.core.answers import Profile
from segtui.format import bar, money, number, percent, spark, trend_spark
from segtui.tui.selection import Selection

WEEKDAYS = {"1": "Mon", "2": "Tue", "3": "Wed", "4": "Thu", "5": "Fri", "6": "Sat", "7": "Sun"}


class DetailPane(VerticalScroll):
    """Scrolls when the profile is taller than the pane (at 80×24 it always is)."""

    can_focus = True
    ALLOW_MAXIMIZE = True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.selection: Selection | None = None
        self.profile: Profile | None = None
        self.state = "empty"  # empty | loading | ready | error | waiting
        self.message = ""
        self.near: list = []  # near misses of the selection's filter (core.compare.NearMiss)
        self.model = None  # the predictive models behind the selection (core.predict.ModelCheck), if it reads them
        self.marked: list[str] = []  # the segments marked in the list (space)
        self.overlap = None  # their overlap (core.compare.Overlap) when two or more are marked and counted
        self.overlap_loading = False
        self.history = None  # every segment's last months (core.timeline.History), as far as counted
        self.counting_history = False  # they are being counted (none in yet)

    def compose(self):
        yield Static(id="detail-body")

    def show(self, selection: Selection | None, profile: Profile | None = None, state: str = "ready",
             message: str = "") -> None:  # fmt: skip
        if selection != self.selection:
            self.scroll_home(animate=False)
            self.near, self.model = [], None
        self.selection, self.profile, self.state, self.message = selection, profile, state, message
        self._draw()

    def show_near(self, selection: Selection | None, near: list) -> None:
        """The near misses of ``selection`` (asked after its profile); ignored if it is gone."""
        if selection == self.selection:
            self.near = list(near)
            self._draw()

    def show_model(self, selection: Selection | None, model) -> None:
        """The models behind ``selection``'s predictive fields (asked with its profile)."""
        if selection == self.selection:
            self.model = model
            self._draw()

    def show_overlap(self, overlap, marked: list[str], loading: bool = False) -> None:
        """The marked segments and, once counted, their overlap (whatever the selection)."""
        self.overlap, self.marked, self.overlap_loading = overlap, list(marked), loading
        self._draw()

    def show_history(self, history, counting: bool = False) -> None:
        self.history, self.counting_history = history, counting
        if self.selection is not None and self.selection.segment is not None and self.profile is not None:
            self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        width = max(self.scrollable_content_region.width, 30)
        body = render_detail(self.selection, self.profile, self.state, self.message, width, self.near, self.model,
                             self.history, self.counting_history)
        marks = render_marked(self.marked, self.overlap, self.overlap_loading)
        self.query_one("#detail-body", Static).update(Group(*marks, body) if marks else body)


def render_detail(selection: Selection | None, profile: Profile | None, state: str, message: str,
                  width: int, near: list | None = None, model=None, history=None,
                  counting_history: bool = False) -> RenderableType:  # fmt: skip
    if selection is None:
        return Text("no segment selected", style="dim")
    parts: list[RenderableType] = []
    title = Text(selection.title, style="bold")
    if selection.segment is not None:
        seg = selection.segment.segment
        origin = "built-in" if seg.builtin else "yours" + (", replaces a built-in" if seg.overrides_builtin else "")
        title.append(f"  {seg.group} · {origin}", style="dim")
    parts.append(title)
    if profile is not None and state in ("ready", "loading") and not selection.note:
        parts.append(headline(profile))  # first, so that a short pane (80×24) still shows it
        if selection.segment is not None:
            parts.extend(trend_line(history, selection.segment.name))
    if selection.segment is not None and selection.segment.segment.description:
        parts.append(Text(selection.segment.segment.description))
    parts.append(Text.assemble(("filter ", "dim"), (selection.expr or "—", "italic")))
    if selection.note:
        parts.append(Text(selection.note, style="bold"))
        return Group(*parts)
    if state == "error":
        parts.append(Text(message, style="bold"))
        return Group(*parts)
    if state == "waiting":  # its features are still being built: ``message`` says which
        parts.append(Text("\n" + message, style="dim"))
        return Group(*parts)
    if profile is None:
        parts.append(Text("\nprofiling…", style="dim"))
        return Group(*parts)
    if state == "loading":
        parts.append(Text("updating…", style="dim"))
    if selection.segment is not None:
        parts.extend(render_history(history, selection.segment.name, width, counting_history))
    parts.extend(render_profile(profile, width, near or [], model))
    return Group(*parts)


def trend_line(history, name: str) -> list[RenderableType]:
    """The segment's last month ends in one line under the headline: the sparkline and who
    entered and left since the last month end (the dates and counts below)."""
    counts = history.counts.get(name) if history is not None else None
    if not counts or counts[0] is None:
        return []
    line = Text(trend_spark(counts), style="cyan")
    change = history.changes.get(name)
    if change is not None:
        line.append_text(Text.assemble(("  ", ""), (f"+{change.entered:,}", "green"), (" ", ""),
                                       (f"−{change.left:,}", "red"), (f" since {change.start:%b} {change.start.day}", "dim")))
    return [line]


def render_history(history, name: str, width: int, counting: bool = False) -> list[RenderableType]:
    """The segment's count at each of the last month ends (a sparkline scaled from its lowest to
    its highest count, the dates and counts at both ends and the extremes) and who entered and
    left since the month end before the as-of date (segtui trend / segtui diff)."""
    if history is None:
        return [Text(""), Text("Last 12 month ends: counting in the background…", style="dim")] if counting else []
    counts = history.counts.get(name)
    if counts is None:  # a segment saved after the count began
        return []
    known = [(day, n) for day, n in zip(history.dates, counts) if n is not None]
    if not known:
        return []
    heading = Text(f"Last {len(history.dates)} month ends", style="bold")
    if not history.complete:
        heading.append(f"  counting… {len(history.dates)}", style="dim")
    stretch = max(1, min(4, (width - 2) // max(len(counts), 1)))
    line = "".join(ch * stretch for ch in trend_spark(counts))
    (first_day, first), (last_day, last) = known[0], known[-1]
    low, high = min(known, key=lambda item: item[1]), max(known, key=lambda item: item[1])
    ends = Text.assemble((f"{first_day:%b %Y} ", "dim"), f"{first:,}", ("  →  ", "dim"), (f"{last_day:%b %Y} ", "dim"),
                         f"{last:,}", (f" · low {low[1]:,} · high {high[1]:,}", "dim"))
    out: list[RenderableType] = [Text(""), heading, Text(line, style="bold"), ends]
    change = history.changes.get(name)
    if change is not None:
        out.append(Text.assemble(("since ", "dim"), (f"{change.start:%Y-%m-%d}", "dim"), ": ",
                                 (f"+{change.entered:,}", "green"), (" entered · ", "dim"),
                                 (f"−{change.left:,}", "red"), (" left · ", "dim"), f"{change.stayed:,}",
                                 (" stayed", "dim")))
    return out


def render_near(near: list) -> list[RenderableType]:
    """Who would be in it but for one condition: the customers to nudge (segtui nearmiss)."""
    if len(near) < 2:  # one condition: "near" would be everyone outside it
        return []
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for miss in near:
        grid.add_row(Text(f"{miss.count:,}", style="bold"), Text.assemble(("but for ", "dim"), miss.condition))
    return [Text(""), Text("Nearly in: every other condition met", style="bold"), grid]


def render_marked(marked: list[str], overlap, loading: bool) -> list[RenderableType]:
    """The segments marked with space, first in the pane: who is in exactly which of them
    (two or three) and each pair's overlap (Jaccard: both over either)."""
    if not marked:
        return []
    head = Text(f"Marked: {len(marked)} segment{'s' if len(marked) > 1 else ''}", style="bold")
    if overlap is None:
        if len(marked) == 1:
            note = f"{marked[0]}; mark another with space to see how they overlap"
        else:
            note = "counting their overlap…" if loading else "their overlap waits for the build"
        return [head.append("  " + note, style="dim"), Text("")]
    head.append(f" · {overlap.union:,} customers in at least one", style="dim")
    rows = [(Text(f"only {inside[0]}" if len(inside) == 1 else " ∩ ".join(inside)), Text(f"{n:,}"))
            for inside, n in overlap.regions]
    rows += [(Text(f"Jaccard {a} ∩ {b}", style="dim"), Text("—" if jaccard is None else f"{jaccard:.3f}", style="dim"))
             for a, b, _, jaccard in overlap.pairs]  # fmt: skip
    grid = Table.grid(padding=(0, 1), expand=True)  # the labels give way (…), the numbers never
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(justify="right", no_wrap=True, width=max(value.cell_len for _, value in rows))
    for label, value in rows:
        grid.add_row(label, value)
    return [head, grid, Text("")]


def render_model(check) -> list[RenderableType]:
    """How far to trust a predictive segment: the fit its fields come from, and the same
    method fitted 90 days earlier against what those days brought."""
    if check is None:
        return []
    out: list[RenderableType] = [Text(""), Text("Prediction: BG/NBD purchases, Gamma-Gamma spend", style="bold")]
    if check.error:
        return out + [Text(f"not fitted: {check.error}", style="dim")]
    fit = check.fit
    b, g = fit.bgnbd, fit.gamma_gamma
    fitted = fit.fitted or fit.customers
    params = ", ".join(f"{name} {_param(value)}" for name, value in
                       (("r", b.r), ("alpha", b.alpha), ("a", b.a), ("b", b.b), ("p", g.p), ("q", g.q), ("gamma", g.gamma)))
    out.append(Text.assemble(f"fitted as of {fit.calibration_end} to {fitted:,} buyers ", (f"({params})", "dim")))
    if check.check_error:
        return out + [Text(f"not checked on the last 90 days: {check.check_error}", style="dim")]
    h = check.check.holdout
    days = (h.end - check.check.calibration_end).days
    line = Text(f"fitted to {check.check.calibration_end}, it expected {h.predicted:,.0f} purchase days in the "
                f"{days} days after; ")
    line.append(f"{h.actual:,} happened", style="bold")
    if h.actual:
        line.append(f" (predicted {h.predicted / h.actual:.2f}× what happened)", style="dim")
    return out + [line]


def _param(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def render_profile(p: Profile, width: int, near: list | None = None, model=None) -> list[RenderableType]:
    bar_width = max(6, min(24, width - 30))  # the distribution rows: label, bar, two shares
    share_width = max(6, min(40, width - 20))  # the customers/revenue rows: label, bar, share
    out: list[RenderableType] = [Text("")]
    shares = Table.grid(padding=(0, 1))
    shares.add_column(width=10, no_wrap=True)
    shares.add_column(no_wrap=True)
    shares.add_column(justify="right", no_wrap=True)
    shares.add_row(Text("customers"), Text(bar(p.customer_share, share_width)), Text(percent(p.customer_share)))
    shares.add_row(Text("revenue"), Text(bar(p.revenue_share, share_width)), Text(percent(p.revenue_share)))
    weight = _weight(p)
    if weight:
        out.append(weight)
    out.append(shares)
    out += render_model(model)
    out += render_near(near or [])

    stats = Table.grid(padding=(0, 2))
    stats.add_column(no_wrap=True)
    stats.add_column(justify="right", no_wrap=True)
    stats.add_column(justify="right", no_wrap=True)
    stats.add_row(Text(""), Text("members", style="underline"), Text("all", style="underline"))
    stats.add_row(Text("avg order value"), Text(money(p.aov)), Text(money(p.all_aov), style="dim"))
    stats.add_row(Text("orders per customer"), Text(number(p.orders_per_customer)),
                  Text(number(p.all_orders_per_customer), style="dim"))  # fmt: skip
    stats.add_row(Text("days since last order"), Text(number(p.recency, 0)), Text(number(p.all_recency, 0), style="dim"))
    out += [Text(""), stats]

    hours = p.dists.get("hour")
    if hours:
        by_hour = {int(v): (m, e) for v, m, e in hours}
        members = [by_hour.get(h, (0, 0))[0] for h in range(24)]
        everyone = [by_hour.get(h, (0, 0))[1] for h in range(24)]
        wide = width >= 60
        stretch = (lambda s: "".join(c * 2 for c in s)) if wide else (lambda s: s)
        axis = ("0h".ljust(12) + "6h".ljust(12) + "12h".ljust(12) + "18h".ljust(11) + "23") if wide else \
               ("0".ljust(6) + "6".ljust(6) + "12".ljust(6) + "18".ljust(5) + "23")  # fmt: skip
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=7, no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_row(Text("members"), Text(stretch(spark(members))))
        grid.add_row(Text("all", style="dim"), Text(stretch(spark(everyone)), style="dim"))
        grid.add_row(Text(""), Text(axis, style="dim"))
        out += [Text(""), Text("Preferred hour of day", style="bold"), grid]
    for name, heading, label in (
        ("weekday", "Preferred weekday", lambda v: WEEKDAYS.get(v, v)),
        ("category", "Top favourite categories", str),
        ("device", "Main device", str),
    ):
        rows = p.dists.get(name)
        if rows:
            out += [Text(""), Text(heading, style="bold"), _split(rows, p.dist_totals[name], label, bar_width)]
    return out


def headline(p: Profile) -> Text:
    """The selection in one line: how many, their share of customers and of revenue."""
    if p.customers == 0:
        return Text.assemble(("no customers", "bold"), (f" of {p.total_customers:,} match", "dim"))
    return Text.assemble((f"{p.customers:,}", "bold"), " customers (", (percent(p.customer_share), "bold"), ") · ",
                         (percent(p.revenue_share), "bold"), " of revenue")


def _weight(p: Profile) -> Text:
    """Revenue share over customer share: how much more (or less) these customers are worth."""
    if not p.customer_share or not p.total_revenue:
        return Text("")
    ratio = p.revenue_share / p.customer_share
    return Text(f"{ratio:.1f}× their weight in revenue", style="dim")


def _split(rows, totals: tuple[int, int], label, bar_width: int) -> Table:
    members_total, everyone_total = totals
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=10, no_wrap=True, overflow="ellipsis")
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    shares = [(members / members_total if members_total else 0.0, everyone / everyone_total if everyone_total else 0.0)
              for _, members, everyone in rows]  # fmt: skip
    scale = max((max(pair) for pair in shares), default=1.0) or 1.0  # the largest share fills the bar
    for (value, _, _), (share, base) in zip(rows, shares):
        grid.add_row(Text(label(value)), Text(bar(share / scale, bar_width)), Text(percent(share)),
                     Text(f"all {percent(base)}", style="dim"))  # fmt: skip
    return grid

