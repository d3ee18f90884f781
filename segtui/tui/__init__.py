"""The explorer: a Textual face on segtui.core (see app.py for the map of the package)."""
