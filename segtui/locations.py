"""The folders segtui writes to, all outside the user's shop (platformdirs finds them).

Environment variables override them, which is how tests and CI keep a user's real folders clean:
SEGTUI_CACHE_DIR, SEGTUI_CONFIG_DIR, SEGTUI_SEGMENTS_DIR.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "segtui"


def cache_dir() -> Path:
    return Path(os.environ.get("SEGTUI_CACHE_DIR") or platformdirs.user_cache_dir(APP))


def config_dir() -> Path:
    return Path(os.environ.get("SEGTUI_CONFIG_DIR") or platformdirs.user_config_dir(APP))


def user_segments_dir() -> Path:
    return Path(os.environ.get("SEGTUI_SEGMENTS_DIR") or config_dir() / "segments")


def log_file() -> Path:
    return cache_dir() / "segtui.log"
