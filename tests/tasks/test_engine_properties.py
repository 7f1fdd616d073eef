"""Property-based tests of the workflow state machine (resources/tasks/engine.py).

Random workflows and random operation sequences, by users and by the external system: no
sequence reaches an impossible state, a refused operation changes nothing, and only the
documented errors (422 Invalid, 403 Forbidden) are raised.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cmpapi.server.errors import Forbidden, Invalid
from cmpapi.server.resources.tasks import engine
from cmpapi.server.resources.tasks.engine import Actor, Flow
from cmpapi.server.resources.tasks.tables import (
    FINISHED,
    OPEN,
    STARTED,
    WAITING,
    Task,
    TaskStep,
    TaskSubStep,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)
USER, SYSTEM = Actor("CMP web app"), Actor("Jira")

sub_step_defs = st.fixed_dictionaries({"external": st.booleans(), "interactive": st.booleans()})
workflows = st.lists(st.lists(sub_step_defs, max_size=3), min_size=1, max_size=4)
operations = st.lists(
    st.tuples(
        st.sampled_from(["start", "complete", "skip", "assign", "due"]),
        st.integers(min_value=0, max_value=20),
        st.sampled_from([USER, SYSTEM]),
    ),
    max_size=25,
)


def build(definition: list[list[dict[str, bool]]], *, due: bool) -> Flow:
    task = Task(
        id="t",
        org_id="o",
        number=1,
        title="T",
        is_started=False,
        is_completed=False,
        is_archived=False,
        is_on_hold=False,
        labels=[],
        due_at=NOW + timedelta(days=1) if due else None,
    )
    steps, subs = [], []
    for n, sub_defs in enumerate(definition):
        steps.append(
            TaskStep(
                id=f"s{n}",
                org_id="o",
                task_id="t",
                position=n,
                title=f"S{n}",
                is_completed=False,
                due_at=None,
            )
        )
        for m, d in enumerate(sub_defs):
            subs.append(
                TaskSubStep(
                    id=f"s{n}.{m}",
                    org_id="o",
                    task_id="t",
                    step_id=f"s{n}",
                    position=m,
                    title="x",
                    state=WAITING,
                    assignee_type="user",
                    assignee_id=None,
                    is_external=d["external"],
                    external_system="Jira" if d["external"] else None,
                    is_user_interaction_allowed=d["interactive"] or not d["external"],
                )
            )
    flow = Flow(task, steps, subs)
    flow.advance(NOW)
    return flow


def snapshot(flow: Flow) -> Any:
    t = flow.task
    return (
        (t.status, t.is_started, t.is_completed, t.overdue_at),
        [(s.is_completed, s.due_at) for s in flow.steps],
        [(ss.state, ss.assignee_id) for ss in flow.sub_steps],
    )


def check_invariants(flow: Flow) -> None:
    states = [ss.state for ss in flow.sub_steps]
    active = [i for i, s in enumerate(states) if s in (OPEN, STARTED)]
    assert len(active) <= 1, states
    cut = active[0] if active else len(states)
    assert all(s in FINISHED for s in states[:cut]), states
    assert all(s == WAITING for s in states[cut + 1 :]), states
    if active:  # an external sub-step is started as soon as it is reached
        ss = flow.sub_steps[cut]
        assert not ss.is_external or ss.state == STARTED
    active_step = flow.step(flow.sub_steps[cut].step_id).position if active else len(flow.steps)
    for step in flow.steps:
        # Completed: every sub-step finished and the task got past it (an empty step
        # completes when the task reaches it).
        finished = all(ss.state in FINISHED for ss in flow.of_step(step))
        assert step.is_completed == (finished and step.position < active_step), (step.id, states)
    assert flow.task.is_completed == all(s.is_completed for s in flow.steps)
    assert flow.task.status == engine.stored_status(flow.task)
    assert flow.task.is_completed == (not active)


def apply(flow: Flow, op: str, index: int, actor: Actor) -> list[engine.Transition]:
    ss = flow.sub_steps[index % len(flow.sub_steps)]
    if op == "start":
        return flow.start(ss, actor, NOW)
    if op in ("complete", "skip"):
        return flow.finish(ss, actor, NOW, skip=op == "skip")
    if op == "assign":
        return flow.assign(ss, "team", f"team{index}", NOW)
    return flow.set_step_due(flow.step(ss.step_id), NOW + timedelta(hours=index), NOW)


@settings(max_examples=300, deadline=None)
@given(definition=workflows, ops=operations, due=st.booleans())
def test_no_sequence_reaches_an_impossible_state(
    definition: list[list[dict[str, bool]]], ops: list[tuple[str, int, Actor]], due: bool
) -> None:
    flow = build(definition, due=due)
    check_invariants(flow)
    for op, index, actor in ops:
        if not flow.sub_steps:
            break
        before = snapshot(flow)
        try:
            transitions = apply(flow, op, index, actor)
        except (Invalid, Forbidden):
            refused_cleanly = snapshot(flow) == before
            assert refused_cleanly, f"{op} was refused but changed the task"
        else:
            assert transitions or op == "due"
        check_invariants(flow)


@settings(max_examples=200, deadline=None)
@given(definition=workflows)
def test_completing_everything_in_order_completes_the_task(
    definition: list[list[dict[str, bool]]],
) -> None:
    flow = build(definition, due=False)
    for _ in range(len(flow.sub_steps)):
        ss = next(s for s in flow.sub_steps if s.state in (OPEN, STARTED))
        flow.finish(ss, SYSTEM, NOW)
    assert flow.task.is_completed and flow.task.status == "Completed"
    assert all(s.is_completed for s in flow.steps)


@settings(max_examples=200, deadline=None)
@given(definition=workflows)
def test_deferred_approval_refuses_users_only(definition: list[list[dict[str, bool]]]) -> None:
    flow = build(definition, due=False)
    while not flow.task.is_completed:
        ss = next(s for s in flow.sub_steps if s.state in (OPEN, STARTED))
        if ss.is_external and not ss.is_user_interaction_allowed:
            before = snapshot(flow)
            try:
                flow.finish(ss, USER, NOW)
            except Forbidden:
                assert snapshot(flow) == before
            else:
                raise AssertionError("a CMP user completed a deferred approval")
        flow.finish(ss, SYSTEM, NOW)


def test_overdue_follows_the_open_steps_due_date() -> None:
    flow = build([[{"external": False, "interactive": True}]], due=False)
    step = flow.steps[0]
    flow.set_step_due(step, NOW - timedelta(hours=1), NOW)
    assert engine.status(flow.task, NOW) == "Overdue"
    flow.finish(flow.sub_steps[0], USER, NOW)
    assert engine.status(flow.task, NOW) == "Completed"
