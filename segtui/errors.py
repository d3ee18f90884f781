"""One exception family. Each error carries the single line a user sees.

The CLI prints ``str(error)`` on stderr and exits 1; the TUI shows it in a notification.
Nothing here formats tracebacks: an error a user can cause is a ``SegtuiError``, anything
else is a bug.
"""

from __future__ import annotations


class SegtuiError(Exception):
    """A problem the user can fix; ``str()`` is the one line to show them."""

    exit_code = 1


class SourceError(SegtuiError):
    """The shop cannot be opened or lacks what segtui needs (missing file, table, column)."""


class MappingError(SourceError):
    """The mapping file (segtui.toml) is unreadable or names something that does not exist."""


class FilterError(SegtuiError):
    """A filter expression is not in the filter language.

    ``position`` is the 0-based character offset of the offending token when known, and
    ``suggestion`` the nearest valid name for a typo.
    """

    def __init__(self, message: str, position: int | None = None, suggestion: str | None = None):
        super().__init__(message)
        self.position = position
        self.suggestion = suggestion


class FieldUnavailable(FilterError):
    """A filter names a field (or segment) this shop cannot provide; ``reason`` says why.

    A subclass, not a new family: callers that only show the line treat it as any FilterError,
    and the segment catalog catches it to list a segment as unavailable rather than broken.
    """

    def __init__(self, message: str, reason: str, position: int | None = None):
        super().__init__(message, position)
        self.reason = reason


class SegmentError(SegtuiError):
    """A segment file is broken or a segment name is unknown."""


class ExportError(SegtuiError):
    """An export could not be written; the target is left as it was."""


class GenerateError(SegtuiError):
    """The demo shop could not be generated."""
