"""The member preview: one page of the selection's members, sortable, never all of them.

Only ``PAGE_SIZE`` rows are ever in the DataTable; the app asks the workspace for one page at a
time in a worker (``Workspace.members_page``: sorted with ``customer_id`` as the tie-break, so
pages neither overlap nor skip), which stays fast at a million customers because DuckDB keeps a
top-k heap instead of sorting everything. The status line says which rows of how many are shown.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from segtui.format import cell
from segtui.tui import keys
from segtui.tui.messages import PreviewPage

PAGE_SIZE = 100


def shown_order(columns: list[str], sort: str) -> list[int]:
    """Column positions as shown: customer_id first, then the sort column, so that the column
    the rows are ordered by is always in view however narrow the pane; then the others."""
    first = [i for i, name in enumerate(columns) if name == "customer_id"]
    by = [i for i, name in enumerate(columns) if name == sort and i not in first]
    return first + by + [i for i in range(len(columns)) if i not in first and i not in by]


def fitting(widths: list[int], room: int, padding: int, keep: int = 2) -> int:
    """How many of the columns (``widths``, in shown order) fit whole in ``room`` cells, each with
    ``padding`` on both sides; never fewer than ``keep`` (customer_id and the sort column)."""
    used = 0
    for count, width in enumerate(widths):
        used += width + 2 * padding
        if used > room:
            return max(count, min(keep, len(widths)))
    return len(widths)


class _Layout:
    """A page as the table shows it: columns in shown order, their headers, the cells' text
    (and whether each is a number, right-aligned) and each column's width in cells."""

    def __init__(self, page: PreviewPage) -> None:
        self.arrow = " ↓" if page.descending else " ↑"
        self.order = shown_order(page.columns, page.sort)
        self.headers = [page.columns[i] + (self.arrow if page.columns[i] == page.sort else "") for i in self.order]
        self.cells = [[(cell(row[i]), isinstance(row[i], (int, float)) and not isinstance(row[i], bool))
                       for i in self.order] for row in page.rows]  # fmt: skip
        self.widths = [max([cell_len(header)] + [cell_len(row[n][0]) for row in self.cells])
                       for n, header in enumerate(self.headers)]  # fmt: skip


class PreviewTable(DataTable):
    """The table itself; its keys page and sort (the pane holds the state)."""

    BINDINGS = keys.bindings("preview")

    def action_page(self, step: int) -> None:
        self.pane.turn_page(step)

    def action_sort_next(self) -> None:
        self.pane.sort_next()

    def action_sort_flip(self) -> None:
        self.pane.sort_flip()

    @property
    def pane(self) -> "PreviewPane":
        return self.app.query_one(PreviewPane)


class PreviewPane(Vertical):
    ALLOW_MAXIMIZE = True
    class CustomerWanted(Message):
        """Open the customer on the highlighted row (``enter``)."""

        def __init__(self, customer_id) -> None:
            super().__init__()
            self.customer_id = customer_id

    class PageWanted(Message):
        """Ask the app for a page (it owns the workspace and the workers)."""

        def __init__(self, offset: int, sort: str, descending: bool) -> None:
            super().__init__()
            self.page_offset = offset
            self.sort = sort
            self.descending = descending

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.columns: list[str] = []
        self.page_offset = 0
        self.member_count: int | None = None
        self.sort = "customer_id"
        self.descending = False
        self.rows: list[tuple] = []  # the page on screen, as the engine gave it
        self.page: PreviewPage | None = None
        self.hidden = 0  # columns left out because the pane is too narrow for them whole

    def compose(self) -> ComposeResult:
        yield Static(Text("members", style="dim"), id="preview-status")
        yield PreviewTable(id="preview-table", cursor_type="row", zebra_stripes=False, fixed_columns=1)

    def reset(self, columns: list[str], sort: str | None = None) -> None:
        """A new selection: first page, default sort kept if it is still a column."""
        self.columns = columns
        self.page_offset = 0
        if sort is not None:
            self.sort, self.descending = sort, sort != "customer_id"
        elif self.sort not in columns:
            self.sort, self.descending = "customer_id", False
        self.set_status(Text("loading members…", style="dim"))

    def request(self) -> None:
        self.post_message(self.PageWanted(self.page_offset, self.sort, self.descending))

    def turn_page(self, step: int) -> None:
        if self.member_count is None:
            return
        offset = self.page_offset + step * PAGE_SIZE
        if 0 <= offset < max(self.member_count, 1):
            self.page_offset = offset
            self.request()

    def sort_next(self) -> None:
        if not self.columns:
            return
        index = (self.columns.index(self.sort) + 1) % len(self.columns) if self.sort in self.columns else 0
        self.sort_by(self.columns[index])

    def sort_flip(self) -> None:
        self.descending = not self.descending
        self.page_offset = 0
        self.request()

    def sort_by(self, column: str, descending: bool | None = None) -> None:
        self.sort = column
        self.descending = (column != "customer_id") if descending is None else descending
        self.page_offset = 0
        self.request()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.columns[:1] == ["customer_id"] and 0 <= event.cursor_row < len(self.rows):
            self.post_message(self.CustomerWanted(self.rows[event.cursor_row][0]))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column == self.sort:
            self.sort_flip()
        else:
            self.sort_by(column)

    def set_status(self, text: Text, note: bool = False) -> None:
        """One line (a page's position, cut at the edge when narrow), or with ``note`` a message that
        wraps onto a few lines (why a segment cannot be counted, an error)."""
        status = self.query_one("#preview-status", Static)
        status.set_class(note, "-note")
        status.update(text)

    def show_page(self, page: PreviewPage) -> None:
        self.member_count = page.count
        self.page_offset = page.offset
        self.rows = list(page.rows)
        self.page = page
        self._fill(_Layout(page), cursor_row=0)

    def _fill(self, layout: "_Layout", cursor_row: int) -> None:
        """The page's columns that fit the pane whole, in shown order: a column cut to its first
        letters at the right edge says nothing. The rest are counted in the status line; the
        pane's zoom (z) or a wider terminal brings them in."""
        page, table = self.page, self.query_one(PreviewTable)
        shown = self._fitting(layout)
        self.hidden = len(layout.order) - shown
        table.clear(columns=True)
        for header, index in zip(layout.headers[:shown], layout.order[:shown]):
            table.add_column(Text(header), key=page.columns[index])
        table.add_rows([Text(text, justify="right" if number else "left") for text, number in row[:shown]]
                       for row in layout.cells)  # fmt: skip
        if layout.cells:
            table.move_cursor(row=min(cursor_row, len(layout.cells) - 1), animate=False, scroll=True)
        if page.count == 0:
            status = Text("no members", style="dim")
        else:
            first, last = page.offset + 1, page.offset + len(page.rows)
            # The sort is in the table's header (its column always second, with the arrow).
            status = Text.assemble(f"{first:,}–{last:,}", (" of ", "dim"), f"{page.count:,}")
            if self.hidden:
                status.append(f" · +{self.hidden} column{'s' if self.hidden > 1 else ''} (z)", style="dim")
            if page.count > PAGE_SIZE:
                status.append(" · ] next [ prev", style="dim")
        self.set_status(status)

    def _fitting(self, layout: "_Layout") -> int:
        table = self.query_one(PreviewTable)
        room = table.size.width
        if room <= 0:  # not laid out yet: every column; the first resize fits them
            return len(layout.widths)
        if len(layout.cells) > table.size.height - 1:  # the vertical scrollbar takes its share
            room -= table.styles.scrollbar_size_vertical
        return fitting(layout.widths, room, table.cell_padding)

    def on_resize(self) -> None:
        if self.page is not None:
            self.call_after_refresh(self._refit)

    def _refit(self) -> None:
        """After a resize: fill again only when a different number of columns fits."""
        if self.page is None:
            return
        table, layout = self.query_one(PreviewTable), _Layout(self.page)
        if self._fitting(layout) != len(table.columns):
            self._fill(layout, cursor_row=table.cursor_row)

    def show_error(self, message: str) -> None:
        self.rows = []
        self.page = None
        self.query_one(PreviewTable).clear(columns=True)
        self.set_status(Text(message), note=True)
