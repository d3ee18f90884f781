"""Every key of the explorer, in one table: the help screen, the README and the tests read it.

Kept as data (not derived from BINDINGS) because several keys live on widgets and modals, and
the help screen should list them all in the order a newcomer needs them.
"""

from __future__ import annotations

#: (key, what it does, where it works)
KEYS: tuple[tuple[str, str, str], ...] = (
    ("↑ ↓ / j k", "move through the segment list (the detail pane follows)", "segment list"),
    ("/", "open the filter bar (starts from the applied filter, if any)", "anywhere"),
    ("E", "edit: open the filter bar pre-filled with the highlighted segment's expression", "anywhere"),
    ("tab", "accept the grey completion (field, function, segment name or value)", "filter bar"),
    ("enter", "apply the filter: the profile and the preview show its members", "filter bar"),
    ("escape", "close the filter bar / clear the applied filter / close a dialog", "anywhere"),
    ("e", "export the shown customers (format from the file extension)", "anywhere"),
    ("s", "save the filter as a segment in your segments folder", "anywhere"),
    ("a", "change the as-of date (everything is recomputed)", "anywhere"),
    ("r", "refresh: reopen the source and recompute", "anywhere"),
    ("tab / shift+tab", "move between the list, the profile and the preview", "anywhere"),
    ("] / [", "next / previous page of members", "preview"),
    ("o / O", "sort the preview by the next column / flip the order", "preview"),
    ("enter", "open the highlighted member's story: features, segments, timeline (escape returns)", "preview"),
    ("] / [", "next / previous page of the customer's timeline", "customer"),
    ("z", "zoom the focused pane (again to restore)", "anywhere"),
    ("ctrl+p", "command palette: jump to a segment, insert a field, run an action", "anywhere"),
    ("?", "this help", "anywhere"),
    ("q", "quit (also while the shop is loading)", "anywhere but a text box"),
)
