"""Widgets, one per screen area: top bar, loading pane, segment list, detail, preview, filter bar."""
