"""The filter composer: an input with completion, a live count line and a hint line.

The bar only edits and displays; the app debounces keystrokes, counts in a worker and calls
``show_count`` / ``show_error`` with results it has not dropped as stale. On an invalid
expression the last good count stays, greyed, under the one-line error, so the user keeps their
bearings while fixing a typo.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from segtui.format import signed
from segtui.tui import keys
from segtui.tui.completion import FilterSuggester, Vocabulary, complete
from segtui.tui.messages import LiveCount


class FilterInput(Input):
    BINDINGS = keys.bindings("filter")

    def action_accept_completion(self) -> None:
        """Take the grey suggestion; with none, tab does nothing (focus stays in the bar)."""
        if self._suggestion and len(self._suggestion) > len(self.value):
            self.value = self._suggestion
            self.cursor_position = len(self.value)

    def action_close(self) -> None:
        self.post_message(FilterBar.Closed())


class FilterBar(Vertical):
    class Closed(Message):
        """Escape in the bar: go back without applying."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.vocabulary = Vocabulary()
        self.last_good: LiveCount | None = None
        self.border_title = "filter  (enter apply · tab complete · esc back)"

    def compose(self) -> ComposeResult:
        # select_on_focus off: E pre-fills a segment's filter to extend it (" AND …"); selected,
        # the first key typed replaced it all
        yield FilterInput(placeholder="e.g. orders >= 3 AND main_device = 'mobile'", id="filter-input",
                          suggester=FilterSuggester(self.vocabulary), select_on_focus=False)  # fmt: skip
        yield Static(id="filter-status")
        yield Static(id="filter-hint")

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    def set_vocabulary(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.input.suggester = FilterSuggester(vocabulary)

    def open(self, text: str) -> None:
        self.display = True
        self.input.value = text
        self.input.cursor_position = len(text)
        self.input.focus()
        self.last_good = None
        self._status(Text("type a filter; the count updates as you type", style="dim"))
        self.update_hint(text)

    def close(self) -> None:
        self.display = False

    def update_hint(self, text: str) -> None:
        """Other completions, or what the word just typed means."""
        found = complete(text, self.vocabulary, limit=8)
        hint = self.query_one("#filter-hint", Static)
        if found and found.candidates:
            line = Text("tab: ", style="dim")
            line.append(" · ".join(found.candidates), style="dim")
            hint.update(line)
            return
        words = text.rstrip().replace("(", " ").split()
        about = self.vocabulary.describe(words[-1]) if words else None
        hint.update(Text(about or "", style="dim"))

    def show_pending(self) -> None:
        if self.last_good is None:
            self._status(Text("counting…", style="dim"))

    def show_building(self, families: tuple[str, ...]) -> None:
        """The count waits for features not built yet: say which are being built."""
        self._status(Text(f"building the {' and '.join(families)} features…", style="dim"))

    def show_count(self, live: LiveCount, compare_name: str | None, compare_count: int | None) -> None:
        self.last_good = live
        self._status(self._count_line(live, compare_name, compare_count, dim=False))

    def show_empty(self) -> None:
        self.last_good = None
        self._status(Text("empty filter: type an expression", style="dim"))

    def show_error(self, message: str, compare_name: str | None, compare_count: int | None) -> None:
        line = Text("✗ ", style="bold")
        line.append(message, style="bold")
        if self.last_good is not None:
            line.append("\n")
            line.append_text(self._count_line(self.last_good, compare_name, compare_count, dim=True))
        self._status(line)

    def _count_line(self, live: LiveCount, compare_name: str | None, compare_count: int | None, dim: bool) -> Text:
        share = live.count / live.total if live.total else 0.0
        line = Text.assemble((f"{live.count:,}", "bold" if not dim else ""), f" customers · {share * 100:.1f}%")
        if compare_name is not None and compare_count is not None:
            line.append(f" · {signed(live.count - compare_count)} vs ")
            line.append(compare_name)
            line.append(f" ({compare_count:,})")
        if dim:
            line.append("  (last valid filter)")
            line.stylize("dim")
        elif live.hints:
            line.append("\n" + "\n".join(live.hints), style="italic")
        return line

    def _status(self, text: Text) -> None:
        self.query_one("#filter-status", Static).update(text)
