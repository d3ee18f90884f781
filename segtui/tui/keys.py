"""Every key of the explorer in one table: the bindings of the app and its widgets, the command
palette's actions and the help screen are all made from it, so they cannot drift apart.

A row with an ``action`` is bound where its ``scope`` says (``bindings(scope)``); a row without
one documents a key Textual handles itself (arrows, tab, ctrl+p) and only appears in the help.
The help lists the rows in this order: the order a newcomer needs them.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    key: str  # Textual's key names, comma-separated ("question_mark", "escape")
    shown: str  # as the help writes it ("?")
    about: str  # what it does
    scope: str  # app | segments | preview | filter | customer | timeline | textual
    action: str | None = None  # the action bound; None: Textual's own key, documented only
    footer: str = ""  # the footer's label; empty: not in the footer
    palette: str | None = None  # the command palette's label, for app actions
    priority: bool = False


KEYS: tuple[Key, ...] = (
    Key("up,down", "↑ ↓ / j k", "move through the segment list (the profile follows)", "textual"),
    Key("j", "j", "down in the segment list", "segments", "cursor_down"),
    Key("k", "k", "up in the segment list", "segments", "cursor_up"),
    Key("q", "q", "quit (also while the shop is loading; not while typing)", "app", "quit", "Quit", "Quit"),
    Key("slash", "/", "open the filter bar (starts from the applied filter, if any)", "app", "open_filter",
        "Filter", "Filter: open the filter bar"),
    Key("E", "E", "edit: the filter bar pre-filled with the highlighted segment's filter, to extend it", "app",
        "edit_segment", "Edit", "Filter: edit the highlighted segment"),
    Key("enter", "enter", "apply the filter: the profile and the members show its customers", "filter", "submit",
        "Apply"),
    Key("tab", "tab", "accept the grey completion (field, function, segment name or value)", "filter",
        "accept_completion", "Complete", priority=True),
    Key("escape", "escape", "close the filter bar", "filter", "close", "Back"),
    Key("escape", "escape", "clear the applied filter and show the highlighted segment again", "app", "back"),
    Key("enter", "enter", "open the highlighted member's story: features, segments, timeline", "preview",
        "select_cursor", "Customer"),
    Key("right_square_bracket", "]", "next page of members", "preview", "page(1)", "Next page"),
    Key("left_square_bracket", "[", "previous page of members", "preview", "page(-1)"),
    Key("o", "o", "sort the members by the next column", "preview", "sort_next", "Sort"),
    Key("O", "O", "flip the sort order", "preview", "sort_flip"),
    Key("escape", "escape", "back from a customer's story to the members, on the same row", "customer", "close",
        "Back"),
    Key("right_square_bracket", "]", "next page of the customer's timeline", "timeline", "page(1)", "Next page"),
    Key("left_square_bracket", "[", "previous page of the customer's timeline", "timeline", "page(-1)",
        "Prev page"),
    Key("space", "space", "mark the highlighted segment (again to unmark): two or more marked, the profile shows "
        "how they overlap", "app", "toggle_mark", "", "Mark or unmark the highlighted segment"),  # not in the
    # footer: at 80 columns it would push "? Help" out
    Key("t", "t", "transitions: where the customers of the highlighted segment's group (RFM, usage...) were a "
        "month end ago and where they are now", "app", "transitions", "",
        "Transitions of the highlighted segment's group"),
    Key("e", "e", "export the shown customers (the format follows the file's extension)", "app", "export",
        "Export", "Export members"),
    Key("s", "s", "save the filter as a segment in your segments folder", "app", "save", "Save",
        "Save filter as segment"),
    Key("a", "a", "change the as-of date (everything is recomputed)", "app", "as_of", "As-of", "As-of date"),
    Key("r", "r", "refresh: reopen the source and recompute", "app", "refresh", "Refresh", "Refresh from source"),
    Key("tab,shift+tab", "tab / shift+tab", "move between the list, the profile and the members", "textual"),
    Key("z", "z", "zoom the focused pane (again to restore)", "app", "zoom"),
    Key("ctrl+p", "ctrl+p", "command palette: jump to a segment, insert a field, run an action", "textual"),
    Key("question_mark", "?", "this help", "app", "help", "Help", "Help"),
)


def bindings(scope: str) -> list[Binding]:
    """The Textual bindings of one scope, in table order (the footer's order)."""
    return [Binding(k.key, k.action, k.footer or k.about, show=bool(k.footer), priority=k.priority)
            for k in KEYS if k.scope == scope and k.action is not None]  # fmt: skip


def palette() -> list[tuple[str, str, str]]:
    """(label, action, help) of the app actions offered in the command palette."""
    return [(k.palette, k.action, f"{k.about} ({k.shown})") for k in KEYS if k.palette and k.action]


#: Where each scope's keys work, as the help says it.
WHERE = {"app": "anywhere", "segments": "segment list", "preview": "members", "filter": "filter bar",
         "customer": "customer's story", "timeline": "customer's story", "textual": "anywhere"}


def help_rows() -> list[tuple[str, str, str]]:
    """(key as written, what it does, where) for the help screen; j and k go with the arrows."""
    return [(k.shown, k.about, WHERE[k.scope]) for k in KEYS if k.scope != "segments"]
