"""One customer's story (``enter`` on a member): who they are, their key features beside the
shop's median, the segments they are in and nearly in, and their timeline, newest first.

The screen asks the app for pages (``StoryWanted``): the app runs ``Workspace.customer`` in a
worker and hands the answer back with :meth:`CustomerScreen.show_story`. ``escape`` returns to
the members table, on the same row.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from segtui.core.customer import NEAR_SHOWN, Story
from segtui.format import feature, moment, order_line
from segtui.tui import keys

#: Timeline rows per page.
TIMELINE_PAGE = 50


class TimelineTable(DataTable):
    BINDINGS = keys.bindings("timeline")

    def action_page(self, step: int) -> None:
        screen = self.screen
        if isinstance(screen, CustomerScreen):
            screen.turn_page(step)


class CustomerScreen(Screen):
    BINDINGS = keys.bindings("customer")

    class StoryWanted(Message):
        """Ask the app for one page of the customer's story."""

        def __init__(self, customer_id, offset: int) -> None:
            super().__init__()
            self.customer_id = customer_id
            self.page_offset = offset

    def __init__(self, customer_id) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.story: Story | None = None
        self.page_offset = 0

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Customer {self.customer_id}  loading…", style="bold"), id="customer-head")
        with Horizontal(id="customer-top"):
            with VerticalScroll(id="customer-key", classes="pane") as key:
                key.border_title = "Key features · shop median"
                yield Static("", id="customer-key-body")
            with VerticalScroll(id="customer-segments", classes="pane") as segments:
                segments.border_title = "Segments"
                yield Static("", id="customer-segments-body")
        with Vertical(id="customer-timeline", classes="pane") as timeline:
            timeline.border_title = "Timeline, newest first"
            yield Static(Text("loading…", style="dim"), id="customer-timeline-status")
            yield TimelineTable(id="customer-timeline-table", cursor_type="row", zebra_stripes=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(TimelineTable).focus()
        self.request(0)

    def request(self, offset: int) -> None:
        self.app.post_message(self.StoryWanted(self.customer_id, offset))

    def turn_page(self, step: int) -> None:
        if self.story is None:
            return
        offset = self.page_offset + step * TIMELINE_PAGE
        if 0 <= offset < max(self.story.timeline_total, 1):
            self.page_offset = offset
            self.query_one("#customer-timeline-status", Static).update(Text("loading…", style="dim"))
            self.request(offset)

    def action_close(self) -> None:
        self.dismiss(None)

    def show_error(self, message: str) -> None:
        self.query_one("#customer-head", Static).update(Text.assemble((f"Customer {self.customer_id}", "bold"),
                                                                      "  ", (message, "bold")))  # fmt: skip
        self.query_one("#customer-timeline-status", Static).update(Text(""))

    def show_story(self, story: Story) -> None:
        self.story, self.page_offset = story, story.offset
        head = Text.assemble((f"Customer {story.customer_id}", "bold"), (f"  as of {story.as_of}", "dim"))
        if story.contacts:
            head.append("  " + " · ".join(story.contacts.values()))
        self.query_one("#customer-head", Static).update(head)
        self.query_one("#customer-key-body", Static).update(_key_table(story))
        self.query_one("#customer-segments-body", Static).update(_segments(story))
        self._show_timeline(story)

    def _show_timeline(self, story: Story, cursor_row: int = 0) -> None:
        table = self.query_one(TimelineTable)
        rows = []
        for m in story.timeline:
            when, amount = moment(m)
            rows.append((when, m.kind, m.ref or "", Text(amount, justify="right"), Text(m.note)))
            for line in m.lines:
                label, price = order_line(line)
                rows.append(("", "", "", Text(price, justify="right", style="dim"), Text(label, style="dim")))
        headers = ("when", "what", "ref", "amount", "note")
        width = self._note_width(table, headers, rows)
        for row in rows:
            row[4].no_wrap, row[4].overflow = True, "ellipsis"  # cut with "…", never silently
        table.clear(columns=True)
        for name in headers:
            table.add_column(name, key=name, width=width if name == "note" else None)
        table.add_rows(rows)
        if rows:
            table.move_cursor(row=min(cursor_row, len(rows) - 1), animate=False)
        if not story.timeline:
            status = Text("nothing before the as-of date", style="dim")
        else:
            first, last = story.offset + 1, story.offset + len(story.timeline)
            status = Text.assemble(f"{first:,}–{last:,}", (" of ", "dim"), f"{story.timeline_total:,}")
            if story.timeline_total > TIMELINE_PAGE:
                status.append(" · ] next · [ previous", style="dim")
        self.query_one("#customer-timeline-status", Static).update(status)

    @staticmethod
    def _note_width(table: DataTable, headers: tuple[str, ...], rows: list[tuple]) -> int | None:
        """The note column's width when its longest note does not fit the table (it is then
        cut with an ellipsis); None (as wide as its text) when it fits or before layout."""
        room = table.size.width
        if room <= 0 or not rows:
            return None
        if len(rows) > table.size.height - 1:
            room -= table.styles.scrollbar_size_vertical
        pad = 2 * table.cell_padding
        for i in range(len(headers) - 1):
            room -= pad + max([cell_len(headers[i])] + [cell_len(str(row[i])) for row in rows])
        room -= pad
        natural = max(row[-1].cell_len for row in rows)
        return None if natural <= room else max(room, len(headers[-1]))

    def on_resize(self) -> None:
        if self.story is not None:
            self.call_after_refresh(lambda: self._show_timeline(self.story, self.query_one(TimelineTable).cursor_row))


def _key_table(story: Story) -> Table:
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(justify="right", no_wrap=True, style="dim")
    for k in story.key:
        grid.add_row(k.name, feature(k.value, k.unit), feature(k.median, k.unit) if k.median is not None else "")
    return grid


def _segments(story: Story) -> Text:
    text = Text()
    if story.segments:
        for name in story.segments:
            text.append("● ", style="bold").append(name + "\n")
    else:
        text.append("in no segment\n", style="dim")
    if story.near:
        text.append("\nNearly in (misses one condition)\n", style="bold")
        for near in story.near[:NEAR_SHOWN]:
            text.append("○ ").append(near.segment).append(f"\n  misses {near.missed}\n", style="dim")
        more = len(story.near) - NEAR_SHOWN
        if more > 0:
            text.append(f"and {more} more\n", style="dim")
    return text
