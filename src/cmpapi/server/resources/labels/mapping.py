"""Label rows to wire models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cmpapi.server.resources.labels.tables import LabelGroup as LabelGroupRow
from cmpapi.wire import LabelGroup

# cmpapi has no related organizations: every group is the caller organization's own.
CURRENT = "current"


def label_group(row: LabelGroupRow) -> LabelGroup:
    return LabelGroup.model_validate(
        {
            "id": row.id,
            "name": row.name,
            "source_org_type": CURRENT,
            "values": [{"id": v.id, "name": v.name} for v in row.values],
        }
    )


def resource_label(
    group_id: str, group_name: str, values: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """A label an object carries (the spec's ``ResourceLabelResponse``, as plain data: its
    answers validate or check it): its group and the chosen ``(id, name)`` values."""
    return {
        "group": {"id": group_id, "name": group_name},
        "values": [{"id": i, "name": n} for i, n in values],
    }
