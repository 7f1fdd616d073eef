"""What task services hand to the mapping layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cmpapi.server.resources.labels.service import LabelNames
from cmpapi.server.resources.tasks.engine import Flow
from cmpapi.server.resources.tasks.tables import Task


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task with its workflow and label names, read at ``now`` (for Overdue)."""

    flow: Flow
    labels: LabelNames
    now: datetime
    has_brief: bool

    @property
    def task(self) -> Task:
        return self.flow.task
