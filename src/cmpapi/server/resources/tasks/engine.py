"""The workflow state machine of one task, implemented once.

A task's steps run in order and so do the sub-steps of a step: exactly one sub-step is
``open`` (or ``in_progress``) at a time until the task is completed. Operations:

- ``start``: open -> in_progress;
- ``complete`` / ``skip``: open or in_progress -> completed / skipped, then ``advance``:
  the next sub-step opens; past the last sub-step of a step the step completes and the
  next step's first sub-step opens; past the last step the task completes;
- ``assign``: any unfinished sub-step gets a user, a team or nobody.

Reaching an external sub-step starts it at once: the external system owns it from then
on (``external_sub_step_started``). Every refused operation raises ``Invalid`` (422) or
``Forbidden`` (403) before anything changes, so nothing is half-applied. The functions
return ``Transition``s; the service turns them into webhook events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cmpapi.server.errors import Forbidden, Invalid, NotFound
from cmpapi.server.resources.tasks.tables import (
    ARCHIVED,
    COMPLETED,
    DONE,
    FINISHED,
    IN_PROGRESS,
    NOT_STARTED,
    ON_HOLD,
    OPEN,
    OVERDUE,
    SKIPPED,
    STARTED,
    WAITING,
    Task,
    TaskStep,
    TaskSubStep,
)

# ``Transition.status`` values: those of workflow_sub_step_updated's ``status``.
STARTED_EVENT, COMPLETED_EVENT, SKIPPED_EVENT, MODIFIED_EVENT = (
    "started",
    "completed",
    "skipped",
    "modified",
)


@dataclass(frozen=True, slots=True)
class Transition:
    """Something that happened to a sub-step."""

    status: str
    step: TaskStep
    sub_step: TaskSubStep


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: ``app_name`` is the calling OAuth app's name (the external system's
    identity for external sub-steps)."""

    app_name: str


class Flow:
    """A task with its steps and sub-steps in order."""

    def __init__(
        self, task: Task, steps: Sequence[TaskStep], sub_steps: Sequence[TaskSubStep]
    ) -> None:
        self.task = task
        self.steps = sorted(steps, key=lambda s: s.position)
        order = {s.id: s.position for s in self.steps}
        self.sub_steps = sorted(sub_steps, key=lambda ss: (order[ss.step_id], ss.position))
        self._steps = {s.id: s for s in self.steps}

    def step(self, step_id: str) -> TaskStep:
        """The step of this task (NotFound otherwise)."""
        step = self._steps.get(step_id)
        if step is None:
            raise NotFound("Step not found")
        return step

    def sub_step(self, step_id: str, sub_step_id: str) -> TaskSubStep:
        """The sub-step of that step of this task (NotFound otherwise)."""
        self.step(step_id)
        for ss in self.sub_steps:
            if ss.id == sub_step_id and ss.step_id == step_id:
                return ss
        raise NotFound("Sub-step not found")

    def of_step(self, step: TaskStep) -> list[TaskSubStep]:
        return [ss for ss in self.sub_steps if ss.step_id == step.id]

    def current_step(self) -> TaskStep | None:
        """The first step not completed, if any."""
        return next((s for s in self.steps if not s.is_completed), None)

    # -- operations --------------------------------------------------------------------

    def start(self, ss: TaskSubStep, actor: Actor, now: datetime) -> list[Transition]:
        """Mark the open sub-step in progress."""
        self._check_actionable(ss, actor, "is_in_progress", "started")
        if ss.state == STARTED:
            raise _invalid("is_in_progress", "The sub-step is already in progress")
        ss.state, ss.started_at, ss.modified_at = STARTED, now, now
        self.task.is_started = True
        self.refresh(now)
        return [Transition(STARTED_EVENT, self.step(ss.step_id), ss)]

    def finish(
        self, ss: TaskSubStep, actor: Actor, now: datetime, *, skip: bool = False
    ) -> list[Transition]:
        """Complete (or skip) the open or in-progress sub-step and move the task on."""
        field = "is_skipped" if skip else "is_completed"
        self._check_actionable(ss, actor, field, "skipped" if skip else "completed")
        ss.state, ss.finished_at, ss.modified_at = (SKIPPED if skip else DONE), now, now
        ss.started_at = ss.started_at or now
        self.task.is_started = True
        status = SKIPPED_EVENT if skip else COMPLETED_EVENT
        return [Transition(status, self.step(ss.step_id), ss), *self.advance(now)]

    def assign(
        self, ss: TaskSubStep, assignee_type: str, assignee_id: str | None, now: datetime
    ) -> list[Transition]:
        """Give an unfinished sub-step an assignee (``None``: nobody)."""
        self._check_task("assignee_id")
        if ss.state in FINISHED:
            raise _invalid("assignee_id", f"The sub-step is already {ss.state}")
        ss.assignee_type, ss.assignee_id, ss.modified_at = assignee_type, assignee_id, now
        self.refresh(now)
        return [Transition(MODIFIED_EVENT, self.step(ss.step_id), ss)]

    def set_step_due(self, step: TaskStep, due_at: datetime, now: datetime) -> list[Transition]:
        """Change a step's due date; its unfinished sub-steps are "modified"."""
        self._check_task("due_at")
        if step.is_completed:
            raise _invalid("due_at", "The step is already completed")
        step.due_at = due_at
        self.refresh(now)
        return [
            Transition(MODIFIED_EVENT, step, ss)
            for ss in self.of_step(step)
            if ss.state not in FINISHED
        ]

    def advance(self, now: datetime) -> list[Transition]:
        """Open the next sub-step after finished ones, completing steps (and the task) on
        the way. Idempotent; called after every finish and when a task is created."""
        out: list[Transition] = []
        for step in self.steps:
            if step.is_completed:
                continue
            pending = [ss for ss in self.of_step(step) if ss.state not in FINISHED]
            if not pending:
                step.is_completed, step.completed_at = True, now
                continue
            ss = pending[0]
            if ss.state == WAITING:
                ss.state, ss.modified_at = OPEN, now
                if ss.is_external:  # the external system takes it from here
                    ss.state, ss.started_at = STARTED, now
                    out.append(Transition(STARTED_EVENT, step, ss))
            break
        else:
            if self.steps:
                self.task.is_completed = True
        self.refresh(now)
        return out

    def refresh(self, now: datetime) -> None:
        """Recompute the task's stored status and overdue date."""
        task = self.task
        current = self.current_step()
        dues = [d for d in (task.due_at, current.due_at if current else None) if d is not None]
        task.overdue_at = None if task.is_completed else min(dues, default=None)
        task.status = stored_status(task)
        task.modified_at = now

    # -- checks ------------------------------------------------------------------------

    def _check_task(self, field: str) -> None:
        if self.task.is_archived:
            raise _invalid(field, "The task is archived: its workflow cannot change")
        if self.task.is_completed:
            raise _invalid(field, "The task is completed")

    def _check_actionable(self, ss: TaskSubStep, actor: Actor, field: str, verb: str) -> None:
        self._check_task(field)
        if self.task.is_on_hold:
            raise _invalid(field, "The task is on hold")
        if ss.state in FINISHED:
            raise _invalid(field, f"The sub-step is already {ss.state}")
        if ss.state == WAITING:
            raise _invalid(
                field,
                f"The sub-step cannot be {verb} before the sub-steps and steps before it "
                "are completed or skipped",
            )
        if ss.is_external and not ss.is_user_interaction_allowed and not _is_system(ss, actor):
            system = ss.external_system or "an external system"
            raise Forbidden(
                f"This sub-step's approval is deferred to {system}: only that system's "
                "token can change it"
            )


def _is_system(ss: TaskSubStep, actor: Actor) -> bool:
    """Whether the actor is the sub-step's external system (its OAuth app's name)."""
    system = ss.external_system
    return system is not None and system.casefold() == actor.app_name.casefold()


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, {field: message})


def stored_status(task: Task) -> str:
    """The task's status as stored (all but Overdue)."""
    if task.is_archived:
        return ARCHIVED
    if task.is_completed:
        return COMPLETED
    if task.is_on_hold:
        return ON_HOLD
    return IN_PROGRESS if task.is_started else NOT_STARTED


def status(task: Task, now: datetime) -> str:
    """The task's status on the wire: stored status, or Overdue once a due date passed."""
    if task.status in (NOT_STARTED, IN_PROGRESS) and task.overdue_at and task.overdue_at < now:
        return OVERDUE
    return task.status
