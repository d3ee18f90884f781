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
    """A step of opening the shop and building the features (from the progress callback);
    ``shown``: of a later build stage, the workspace already shown."""

    def __init__(self, generation: int, step: str, fraction: float, shown: bool = False) -> None:
        super().__init__()
        self.generation = generation
        self.shown = shown
        self.step = step
        self.fraction = fraction


class WorkspaceLoaded(Message):
    """The workspace is ready (or failed: ``error``); ``extras`` holds what was precomputed.
    ``stage``: the build stage it was shown after (``segtui.core.stages.Stage``); unless it is
    final, :class:`StageReady` messages follow. ``full``: what the build waits on for its
    full table, when a small shop's segment history may make it (``timeline.FullTable``);
    whoever takes the message hands it to that history or resolves it."""

    def __init__(self, generation: int, workspace: Any = None, extras: Any = None, error: str | None = None,
                 stage: Any = None, full: Any = None) -> None:  # fmt: skip
        super().__init__()
        self.generation = generation
        self.workspace = workspace
        self.extras = extras
        self.error = error
        self.stage = stage
        self.full = full


class StageReady(Message):
    """A later stage of the shown workspace's build: ``extras`` holds the counts of the segments
    it made countable and the columns and vocabulary it holds now (or ``error``)."""

    def __init__(self, workspace: Any, stage: Any = None, extras: Any = None, error: str | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.stage = stage
        self.extras = extras
        self.error = error


class BuildEnded(Message):
    """The load thread is done with its workspace (built, failed or abandoned): it may be closed."""


class LiveBuilding(Message):
    """The live count of ``expr`` first builds ``families`` (a field of a family not built yet)."""

    def __init__(self, expr: str, families: tuple[str, ...]) -> None:
        super().__init__()
        self.expr = expr
        self.families = families


class StoreDone(Message):
    """The copy of ``workspace``'s fresh build into the feature cache has ended (stored or not);
    ``then``: what to do next if that workspace is still shown."""

    def __init__(self, workspace: Any = None, then: Any = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.then = then


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
    hints: tuple[str, ...] = ()  # for a count of 0: a text value that matches in another case


@dataclass(frozen=True)
class PreviewPage:
    """One page of members: ``rows`` starting at ``offset`` of ``count``, sorted by ``sort``."""

    columns: list[str]
    rows: list[tuple]
    offset: int
    count: int
    sort: str
    descending: bool
