"""The command palette (ctrl+p): jump to a segment, insert a field into the filter, run an action.

One Provider over what the app already holds in memory (catalog, field list): searching never
touches DuckDB. Strings go in as plain text (``matcher.highlight`` builds Content, not markup).
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

from segtui.tui import keys

#: (label, app action, help), from the one key table
ACTIONS = keys.palette()


class SegtuiCommands(Provider):
    def _candidates(self):
        app = self.app
        for label, action, about in ACTIONS:
            yield label, partial(app.run_action, action), about
        ws = getattr(app, "ws", None)
        if ws is None:
            return
        for compiled in ws.catalog.compiled:
            about = compiled.segment.description or compiled.segment.where
            yield f"Segment: {compiled.name}", partial(app.jump_to_segment, compiled.name), about
        for field in ws.features.available:
            yield f"Field: {field.name}", partial(app.insert_into_filter, field.name), field.description

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, about in self._candidates():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=escape(about))

    async def discover(self) -> Hits:
        for text, command, about in self._candidates():
            if not text.startswith("Field: "):
                yield DiscoveryHit(Content(text), command, text=text, help=escape(about))  # never markup
