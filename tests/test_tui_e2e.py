"""End to end: the real ``segtui open`` in a tmux pane; type a filter, read the count off the
screen, quit, and check that the process is gone. Skipped where tmux is not installed.

The test runs its own tmux server (its own socket, no user config) and hands it an environment
of its own, so that it passes the same way when pytest itself runs inside tmux."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest
from tui_fixtures import AS_OF, tui_shop  # noqa: F401

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


# TMUX and TMUX_PANE name the outer server when pytest runs inside tmux. COLUMNS and LINES win
# over the pane's real size in the app (shutil.get_terminal_size reads them first): the test
# session sets COLUMNS for the CLI's tables, and GNU readline (imported by pytest) writes the
# terminal's size into the C environment, unseen by os.environ yet inherited by a child started
# without env=. Inside an outer tmux that was LINES=50, and the app drew 50 rows in a 36-row pane.
_NOT_FOR_THE_PANE = ("TMUX", "TMUX_PANE", "COLUMNS", "LINES")


def _tmux_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in _NOT_FOR_THE_PANE}


def _tmux(socket: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-L", socket, "-f", "/dev/null", *args], capture_output=True, text=True,
                          timeout=10, env=_tmux_env(), stdin=subprocess.DEVNULL)


def _screen(socket: str) -> str:
    return _tmux(socket, "capture-pane", "-p", "-t", "e2e").stdout


def _wait_screen(socket: str, pattern: str, timeout: float = 40.0) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, _screen(socket))
        if match:
            return match
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} never appeared; screen:\n{_screen(socket)}")


def test_open_type_filter_read_count_quit(tui_shop, tmp_path):
    from segtui.core.workspace import open_workspace

    ws = open_workspace(tui_shop, AS_OF)
    try:
        expected = ws.count("orders >= 3")
    finally:
        ws.close()
    socket = f"segtui-e2e-{uuid.uuid4().hex[:8]}"
    env = " ".join(
        f"{name}={shlex_quote(os.environ[name])}"
        for name in ("SEGTUI_CACHE_DIR", "SEGTUI_CONFIG_DIR", "SEGTUI_SEGMENTS_DIR")
    )
    unset = " ".join(f"-u {name}" for name in _NOT_FOR_THE_PANE)
    command = (f"env {unset} {env} TERM=xterm-256color {shlex_quote(sys.executable)} -m segtui.cli open "
               f"{shlex_quote(str(tui_shop))} --as-of {AS_OF.isoformat()}")  # fmt: skip
    started = _tmux(socket, "new-session", "-d", "-x", "120", "-y", "36", "-s", "e2e", command)
    assert started.returncode == 0, started.stderr
    try:
        _wait_screen(socket, r"as of 2026-06-30 │ [\d,]+ customers")
        _wait_screen(socket, r"1–\d+ of [\d,]+")  # the preview has its first page
        rows = _screen(socket).splitlines()
        assert rows[0].startswith(" segtui │") and any(len(row) == 120 and row.endswith("╮") for row in rows), \
            "the app did not draw for the pane's 120x36:\n" + "\n".join(rows)
        _tmux(socket, "send-keys", "-t", "e2e", "/")
        _wait_screen(socket, r"enter apply")
        _tmux(socket, "send-keys", "-t", "e2e", "-l", "orders >= 3")
        match = _wait_screen(socket, r"┃ ([\d,]+) customers · [\d.]+%")
        assert int(match.group(1).replace(",", "")) == expected
        _tmux(socket, "send-keys", "-t", "e2e", "Escape")
        time.sleep(0.3)
        _tmux(socket, "send-keys", "-t", "e2e", "q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _tmux(socket, "has-session", "-t", "e2e").returncode == 0:
            time.sleep(0.1)
        assert _tmux(socket, "has-session", "-t", "e2e").returncode != 0, "segtui did not exit on q"
    finally:
        _tmux(socket, "kill-server")


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
