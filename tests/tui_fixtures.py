"""Fixtures and helpers for the explorer's tests: one generated shop per session, a fixed as-of
date (so counts and snapshots never move), and helpers that wait for the app's workers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="session")
def tui_shop(tmp_path_factory) -> Path:
    """A 1,500-customer generated shop (seed 7), built once per test session."""
    from segtui.core.generate import generate

    path = tmp_path_factory.mktemp("tui_shop") / "shop.duckdb"
    generate(path, customers=1500, seed=7)
    return path


def make_app(shop: Path, as_of: date | None = AS_OF, segments_dir: Path | None = None, history: bool = False):
    """The explorer on ``shop``; ``history``: count the segments' last months in the background
    (off unless a test is about it: its results arrive at no fixed moment)."""
    from segtui.tui.app import SegtuiApp

    return SegtuiApp(shop, as_of=as_of, segments_dir=segments_dir, history=history)


async def settle(pilot, rounds: int = 3) -> None:
    """Let debounce timers fire and every worker finish, a few times over (results start more work)."""
    for _ in range(rounds):
        await pilot.pause(0.12)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def wait_ready(pilot, timeout: float = 90.0, built: bool = True) -> None:
    """Wait for the workspace (loaded in a daemon thread) to be shown and, unless ``built`` is
    False, for its last build stage (every count in), then for its first queries."""
    import asyncio

    app = pilot.app
    waited = 0.0
    while not app.ready.is_set() or app.ws is None or (built and not app.built.is_set()):
        await pilot.pause(0.05)
        waited += 0.05
        failed = getattr(app, "_exception", None)  # the app died: say why at once, not after the timeout
        if failed is not None:
            raise AssertionError(f"the explorer stopped while loading: {failed!r}") from failed
        if waited > timeout:
            step = app.query("#loading-step")
            shown = str(step.first().render()) if step else "(no loading pane)"
            raise AssertionError(f"the workspace did not load in time; loading pane: {shown}\n" + _segtui_threads())
    await asyncio.sleep(0)
    await settle(pilot)


async def wait_for(pilot, condition, timeout: float = 45.0) -> None:
    waited = 0.0
    while not condition():
        await pilot.pause(0.05)
        waited += 0.05
        if waited > timeout:
            raise AssertionError("condition not met in time\n" + _segtui_threads())

    await settle(pilot, rounds=1)


def _segtui_threads() -> str:
    """Where every segtui thread (load, build, store) stands: what a test that timed out waited for."""
    import sys
    import threading
    import traceback

    frames = sys._current_frames()
    return "\n".join(f"--- {t.name}\n" + "".join(traceback.format_stack(frames[t.ident])[-6:])
                     for t in threading.enumerate() if t.name.startswith("segtui") and t.ident in frames)
