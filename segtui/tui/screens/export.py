"""Export dialog: file path (the extension picks the format), columns, overwrite.

Everything that can be checked without DuckDB is checked here, on submit, so the user sees the
one-line ExportError inline and fixes it in place: the format (``format_options``), the target
(``check_target``: folder exists and is writable, no silent overwrite) and the column names
(``pick_columns`` against the workspace's columns). The write itself then runs in a worker of
the app and this dialog closes: a long export never blocks the explorer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from segtui.core.export import check_target, format_options, pick_columns
from segtui.errors import SegtuiError
from segtui.tui.screens.base import Dialog


class Toggle(Static, can_focus=True):
    """A yes/no box drawn as ``[x]`` / ``[ ]``: Textual's Checkbox shows its X in both states and
    tells them apart by colour only, which NO_COLOR erases. Space toggles, enter submits."""

    BINDINGS = [Binding("space", "toggle", "Toggle"), Binding("enter", "submit", "Export", show=False)]

    def __init__(self, label: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.label = label
        self.value = False

    def on_mount(self) -> None:
        self._draw()

    def _draw(self) -> None:
        self.update(Text(("[x] " if self.value else "[ ] ") + self.label))

    def action_toggle(self) -> None:
        self.value = not self.value
        self._draw()

    def action_submit(self) -> None:
        self.screen.submit()

    def on_click(self) -> None:
        self.action_toggle()


@dataclass(frozen=True)
class ExportRequest:
    path: Path
    columns: list[str] | None
    force: bool


class ExportScreen(Dialog):
    def __init__(self, what: str, members: int | None, default_path: str, columns: list[str],
                 unavailable: dict[str, str] | None = None, shown: list[str] | None = None) -> None:  # fmt: skip
        super().__init__()
        self.shown = shown or []  # the columns on screen: the field starts with them
        self.what = what
        self.members = members
        self.default_path = default_path
        self.available = columns
        self.unavailable = unavailable or {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "Export members"
            size = f" ({self.members:,} customers)" if self.members is not None else ""
            yield Static(Text.assemble("Export ", (self.what, "bold"), size))
            yield Label("File (.csv, .parquet, .json or .jsonl)")
            yield Input(self.default_path, id="export-path")
            yield Label("Columns (comma separated; empty: contacts and every feature)")
            yield Input(", ".join(self.shown), placeholder="e.g. orders, total_spent, main_device",
                        id="export-columns", select_on_focus=False)
            yield Toggle("overwrite an existing file (space)", id="export-force")
            yield Static(Text("enter export · esc cancel", style="dim"), classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def submit(self) -> None:
        raw = self.query_one("#export-path", Input).value.strip()
        if not raw:
            self.say("give a file name, e.g. members.csv")
            return
        if raw == "-":  # stdout is the explorer's screen
            self.say("- (stdout) is for the command line; give a file name, e.g. members.csv")
            return
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        text = self.query_one("#export-columns", Input).value
        columns = [c.strip() for c in text.split(",") if c.strip()] or None
        force = self.query_one("#export-force", Toggle).value
        try:
            format_options(path)
            check_target(path, force)
            pick_columns(self.available, columns, self.unavailable)
        except SegtuiError as error:
            # the engine's messages speak to the command line; here the same fix has other keys
            message = (str(error).replace("pass --force", "tick 'overwrite'").replace(" in --columns", "")
                       .replace("see 'segtui fields'", "ctrl+p lists the fields"))
            self.say(message)
            return
        self.dismiss(ExportRequest(path, columns, force))
