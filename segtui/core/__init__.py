"""The engine: sources, features, segments, filters and export. Never imports Textual."""
