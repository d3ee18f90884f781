"""The order in which a first open builds the feature families, so that counts come early.

With an empty cache at a million customers every family together takes ~15-20 s; a segment can
be counted as soon as the families its fields come from are ready. :func:`plan_stages` groups the
families into stages: first the ones every question needs (core, the universe, RFM: the value and
recency segments), then, one group at a time, the families whose build time buys the most
segments (cheapest first, weighted by how many segments each unlocks), last whatever no segment
reads. ``Workspace.build_in_stages`` runs the plan. Pure planning: no DuckDB here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from segtui.core.features.build import (
    FeatureBuilder,
    base_reads,
    base_seconds,
    family_seconds,
    run_order,
)

#: The first stage, whatever the segments: what every question reads plus the RFM grid.
FIRST_FAMILIES = ("core", "universe", "rfm")

#: A stage costs a count of its segments over the view of the ready families (0.4-1 s at a
#: million customers, a join of the ready families each time); a group cheaper than this
#: (seconds of build at a million customers) is built with the next one instead. Measured at 1M
#: on 2 cores (2026-12-01): 1 s gave six stages and all counts after 25.6 s, 6 s three stages
#: (core, universe, RFM; the next 19 segments; the rest) and 20.8 s, one group after the
#: first 23.2 s; the full build alone takes ~16 s.
MIN_STAGE_SECONDS = 6.0


@dataclass(frozen=True)
class Stage:
    """One step of a build in stages: ``customer_features`` now holds ``fields``.

    ``families``: built or read from the cache in this stage. ``final``: ``customer_features``
    is the full table (the last stage). ``waiting``: for each usable segment that cannot be
    counted yet, the families it still waits for, in build order.
    """

    families: tuple[str, ...]
    fields: frozenset[str]
    final: bool
    waiting: dict[str, tuple[str, ...]] = field(default_factory=dict)


def plan_stages(builder: FeatureBuilder, needs: Iterable[Collection[str]]) -> list[tuple[str, ...]]:
    """Groups of families, in build order, covering every family the full table needs.

    ``needs``: the fields each segment reads. After the first stage (:data:`FIRST_FAMILIES`
    and what they read), each next group is the set of still missing families of some segment,
    the one that unlocks the most segments per second of build (ties: the cheaper). The order
    lines' join counts once, for the first group that reads it.
    """
    every = builder.families_for(None)
    first = set(builder.families_for(f.name for f in builder.available if f.family in FIRST_FAMILIES))
    wanted = [set(builder.families_for(fields)) for fields in needs]
    have, groups = set(first), [first]

    def cost(group: set[str]) -> float:
        bases = {b for f in group for q in builder.candidates[f] for b in base_reads(q)}
        made = {b for f in have for q in builder.candidates[f] for b in base_reads(q)}
        return sum(family_seconds(f) for f in group) + sum(base_seconds(b) for b in bases - made)

    while True:
        missing = [w - have for w in wanted if not w <= have]
        if not missing:
            break
        options = {frozenset(m) for m in missing}

        def value(group: frozenset[str]) -> tuple[float, float, tuple[str, ...]]:
            unlocked = sum(1 for m in missing if m <= group)
            seconds = cost(set(group))
            return unlocked / (seconds + 0.05), -seconds, tuple(sorted(group))

        best = max(options, key=value)
        groups.append(set(best))
        have |= best
    rest = set(every) - have
    if rest:
        groups.append(rest)
    merged: list[set[str]] = []
    for group in groups:
        if merged and len(merged) > 1 and cost_of(merged[-1]) < MIN_STAGE_SECONDS:
            merged[-1] |= group
        else:
            merged.append(set(group))
    order = run_order()
    return [tuple(f for f in order if f in group) for group in merged if group]


def cost_of(families: Collection[str]) -> float:
    """Seconds at a million customers to build ``families`` (their own files only)."""
    return sum(family_seconds(f) for f in families)
