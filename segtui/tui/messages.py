"""Small messages that worker threads post back to the app (``post_message`` is thread safe).

Every result carries the ``request`` id it was started with; the app keeps the latest id per
channel and drops any other, which is how stale results of a cancelled (still running) thread
are ignored. ``error`` is the one line to show (a SegtuiError's str), never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


class LoadProgress(Message):
    """A step of opening the shop and building the features (from the progress callback)."""

    def __init__(self, generation: int, step: str, fraction: float) -> None:
        super().__init__()
        self.generation = generation
        self.step = step
        self.fraction = fraction


class WorkspaceLoaded(Message):
    """The workspace is ready (or failed: ``error``); ``extras`` holds what was precomputed."""

    def __init__(self, generation: int, workspace: Any = None, extras: Any = None, error: str | None = None) -> None:
        super().__init__()
        self.generation = generation
        self.workspace = workspace
        self.extras = extras
        self.error = error


class StoreDone(Message):
    """The copy of a fresh build into the feature cache has ended (stored or not)."""


class WorkDone(Message):
    """A query finished on ``channel`` ("counts", "profile", "preview", "live", "export", "save")."""

    def __init__(self, channel: str, request: int, result: Any = None, error: str | None = None,
                 unexpected: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.channel = channel
        self.request = request
        self.result = result
        self.error = error
        self.unexpected = unexpected  # a bug, not a user or data error: the traceback is in the log


@dataclass(frozen=True)
class LiveCount:
    """The result of counting what is typed in the filter bar."""

    expr: str
    sql: str
    count: int
    total: int


@dataclass(frozen=True)
class PreviewPage:
    """One page of members: ``rows`` starting at ``offset`` of ``count``, sorted by ``sort``."""

    columns: list[str]
    rows: list[tuple]
    offset: int
    count: int
    sort: str
    descending: bool
