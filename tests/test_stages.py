"""Building the features in stages: the order of the stages, counts after each stage equal to a
full build's, and the explorer's first open with segments still waiting for their families."""

from __future__ import annotations

import threading

import pytest
from tui_fixtures import AS_OF, make_app, settle, tui_shop, wait_for, wait_ready  # noqa: F401

from segtui.core.stages import FIRST_FAMILIES, plan_stages
from segtui.core.workspace import Workspace, open_workspace


@pytest.fixture(scope="module")
def full_counts(tui_shop):
    ws = open_workspace(tui_shop, AS_OF, use_cache=False)
    try:
        return ws.count_all()
    finally:
        ws.close()


def test_stages_start_with_core_universe_rfm_and_cover_every_family(tui_shop):
    ws = open_workspace(tui_shop, AS_OF, use_cache=False, fields=None)
    try:
        groups = plan_stages(ws.builder, [ws.fields_of(c.sql) for c in ws.catalog.usable])
        assert set(groups[0]) == set(ws.builder.families_for(
            f.name for f in ws.builder.available if f.family in FIRST_FAMILIES))
        flat = [family for group in groups for family in group]
        assert sorted(flat) == sorted(ws.builder.families_for(None)) and len(flat) == len(set(flat))
        assert flat.index("pricier") > flat.index("order_profile")  # the dearest family comes late
        for group_index, group in enumerate(groups):  # every family after what it reads
            before = {f for g in groups[: group_index + 1] for f in g}
            assert all(ws.builder.reads(family) <= before for family in group)
    finally:
        ws.close()


def test_counts_after_each_stage_equal_the_full_build(tui_shop, full_counts):
    ws = open_workspace(tui_shop, AS_OF, use_cache=False, fields=None)
    try:
        stages, counted = [], {}
        for stage in ws.build_in_stages():
            counts = ws.count_ready(skip=counted)
            assert counts.total == full_counts.total
            assert not set(counts) & set(stage.waiting)  # a waiting segment is never counted
            for name, n in counts.items():
                assert n == full_counts[name], name
            counted.update(counts)
            stages.append(stage)
        assert len(stages) > 2 and stages[-1].final and not any(s.final for s in stages[:-1])
        assert stages[0].waiting and not stages[-1].waiting
        assert counted == dict(full_counts)
        assert ws._is_full()
    finally:
        ws.close()


def test_a_cached_table_is_one_final_stage_and_the_staged_build_stores_it(tui_shop):
    ws = open_workspace(tui_shop, AS_OF, fields=None, store_later=True)
    try:
        list(ws.build_in_stages())
        assert ws.pending_store is not None
        ws.pending_store(ws.con)
    finally:
        ws.close()
    steps = []
    ws = open_workspace(tui_shop, AS_OF, fields=None, store_later=True)
    try:
        stages = list(ws.build_in_stages(lambda step, fraction: steps.append(step)))
        assert len(stages) == 1 and stages[0].final and steps == ["features: from cache"]
    finally:
        ws.close()


def test_a_question_during_stages_builds_what_it_reads(tui_shop, full_counts):
    ws = open_workspace(tui_shop, AS_OF, use_cache=False, fields=None)
    try:
        stages = ws.build_in_stages()
        next(stages)
        sql = ws.compile("sessions_30d >= 1")
        assert "events" in ws.families_to_build(sql)
        cursor = ws.con.cursor()
        expected = open_workspace(tui_shop, AS_OF, use_cache=False).count("sessions_30d >= 1")
        assert ws.count_where(sql, cursor) == expected and ws.families_to_build(sql) == ()
        rest = list(stages)
        assert rest[-1].final and ws.count_ready(cursor) == full_counts
        cursor.close()
    finally:
        ws.close()


@pytest.fixture
def held_stage(monkeypatch):
    """The build stops after its first stage until the test sets the event."""
    release = threading.Event()
    real = Workspace.build_in_stages

    def held(self, progress=None, elsewhere=None):
        last = [0.0]

        def noting(step, fraction):
            last[0] = fraction
            if progress is not None:
                progress(step, fraction)

        for index, stage in enumerate(real(self, noting, elsewhere)):
            yield stage
            if index == 0:
                # Held, but not past the explorer's end: its progress callback stops a build
                # whose explorer quits (a snapshot's app exits with the stage still held).
                for _ in range(600):
                    if release.wait(0.05):
                        break
                    noting("features: held", last[0])

    monkeypatch.setattr(Workspace, "build_in_stages", held)
    yield release
    release.set()


async def test_first_open_shows_pending_segments_then_their_counts(tui_shop, held_stage):
    from segtui.tui.widgets.detail import DetailPane
    from segtui.tui.widgets.segment_list import SegmentList

    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot, built=False)
        assert not app.built.is_set() and app.waiting
        assert "building features" in str(app.query_one("TopBar").render())
        segments = app.query_one(SegmentList)
        pending = next(name for name in app.waiting)
        assert pending not in app.extras.counts
        segments.jump_to(pending)
        await settle(pilot)
        detail = app.query_one(DetailPane)
        assert detail.state == "waiting" and detail.message.startswith("counting when the")
        assert detail.message.endswith("features are built")
        await pilot.press("down", "up")  # keys work meanwhile
        held_stage.set()
        await wait_for(pilot, app.built.is_set)
        await settle(pilot)
        assert not app.waiting and pending in app.extras.counts
        assert app.extras.counts[pending] == app.ws.count_all()[pending]
        assert "building" not in str(app.query_one("TopBar").render())
        assert app.query_one(DetailPane).state != "waiting"
        await pilot.press("q")


async def test_a_filter_naming_an_unbuilt_family_builds_it(tui_shop, held_stage, monkeypatch):
    from segtui.tui.widgets.filter_bar import FilterBar

    said = []
    real = FilterBar.show_building
    monkeypatch.setattr(FilterBar, "show_building", lambda self, families: (said.append(families), real(self, families)))

    expected = open_workspace(tui_shop, AS_OF, use_cache=False).count("sessions_30d >= 1")
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot, built=False)
        assert "sessions_30d" not in app.extras.columns
        await pilot.press("slash", *"sessions_30d >= 1")
        bar = app.query_one(FilterBar)
        await wait_for(pilot, lambda: bar.last_good is not None)
        assert bar.last_good.count == expected
        assert said and "events" in said[0]
        held_stage.set()
        await wait_for(pilot, app.built.is_set)
        await pilot.press("escape", "q")


def _pending_first_open(size):
    async def run_before(pilot):
        await wait_ready(pilot, built=False)
        await settle(pilot)

    return run_before


def test_first_open_with_pending_segments_80x24(snap_compare, tui_shop, held_stage):
    assert snap_compare(make_app(tui_shop), terminal_size=(80, 24), run_before=_pending_first_open((80, 24)))


def test_first_open_with_pending_segments_120x36(snap_compare, tui_shop, held_stage):
    assert snap_compare(make_app(tui_shop), terminal_size=(120, 36), run_before=_pending_first_open((120, 36)))


async def test_a_segment_countable_between_stages_is_profiled_after_the_last(tui_shop, monkeypatch):
    """Its count comes with its stage; its profile and members, which scan a join of the ready
    families, wait for the last stage instead of slowing the build."""
    from segtui.tui.widgets.detail import DetailPane
    from segtui.tui.widgets.segment_list import SegmentList

    gates = [threading.Event(), threading.Event()]
    real = Workspace.build_in_stages

    def held(self, progress=None, elsewhere=None):
        for index, stage in enumerate(real(self, progress, elsewhere)):
            yield stage
            if index < len(gates):
                gates[index].wait(30)

    monkeypatch.setattr(Workspace, "build_in_stages", held)
    app = make_app(tui_shop)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_ready(pilot, built=False)
            assert "Best customers" in app.waiting  # it reads order_profile: the second stage
            app.query_one(SegmentList).jump_to("Best customers")
            await settle(pilot)
            gates[0].set()
            await wait_for(pilot, lambda: "Best customers" in app.extras.counts)
            detail = app.query_one(DetailPane)
            assert not app.built.is_set()  # three stages: the second is in, the last held
            assert detail.state == "waiting" and detail.message == "profile and members when every feature is built"
            assert detail.profile is None
            gates[1].set()
            await wait_for(pilot, app.built.is_set)
            await wait_for(pilot, lambda: detail.profile is not None and detail.state == "ready")
            assert detail.profile.customers == app.extras.counts["Best customers"]
            await pilot.press("q")
    finally:
        for gate in gates:
            gate.set()


async def test_the_build_goes_on_while_the_first_stage_waits_to_be_shown(tui_shop, monkeypatch):
    """On a busy machine the UI thread takes the first stage's message late; the build thread,
    already on the next stage, must not read "not shown yet" as "replaced by another workspace"
    (it stopped there, and the remaining counts stayed at "…" for good)."""
    import time

    from segtui.tui.app import SegtuiApp

    real = SegtuiApp.on_workspace_loaded
    building_on = threading.Event()
    real_stages = Workspace.build_in_stages

    def noting(self, progress=None, elsewhere=None):
        for index, stage in enumerate(real_stages(self, progress, elsewhere)):
            yield stage
            if index == 0:
                building_on.set()

    def late(self, message):
        building_on.wait(10)  # the build thread is past its first stage before the UI takes it
        time.sleep(0.3)
        return real(self, message)

    monkeypatch.setattr(Workspace, "build_in_stages", noting)
    monkeypatch.setattr(SegtuiApp, "on_workspace_loaded", late)
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot, timeout=60)
        assert not app.waiting and set(app.extras.counts) == {c.name for c in app.ws.catalog.usable}
