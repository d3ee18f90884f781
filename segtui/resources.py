"""Where the shipped SQL (queries/) and the sample shop (sample_data/) live.

In a wheel both are copied inside the package (hatchling force-include); in a source checkout
they sit beside the package at the repository root. importlib.resources does the finding.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path


@functools.cache
def _find(name: str) -> Path:
    packaged = Path(str(resources.files("segtui"))) / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"segtui is installed without its {name}/ folder; reinstall it")


def queries_dir() -> Path:
    return _find("queries")


def sample_data_dir() -> Path:
    return _find("sample_data")


def read_query(relative: str) -> str:
    """The text of ``queries/<relative>``, e.g. ``read_query("features/orders.sql")``."""
    return (queries_dir() / relative).read_text(encoding="utf-8")
