"""Field values of tasks -> wire models: fields (``FieldListResponseItem`` and relatives,
rendered by ``fields.values``) and the older ``TaskCustomField`` shapes."""

from __future__ import annotations

from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.fields.kinds import KINDS
from cmpapi.server.resources.fields.tables import FieldChoice
from cmpapi.server.resources.fields.values import FieldValues
from cmpapi.server.resources.library.files import Signer as Sign
from cmpapi.server.resources.subresources import mapping as shared
from cmpapi.server.resources.tasks.field_custom import custom_type
from cmpapi.wire import (
    FieldListResponseItem,
    ListTaskSubStepFieldsResponseData,
    ObjectFieldCreateResponse,
    TaskCustomField,
    TaskCustomFieldChoiceListResponseItem,
)


def task_field(fv: FieldValues, sign: Sign) -> FieldListResponseItem:
    """A listTaskFields item."""
    return shared.field(FieldListResponseItem, fv, sign)


def added_field(fv: FieldValues, sign: Sign) -> ObjectFieldCreateResponse:
    """addFieldToTask's answer: the field as the task now holds it."""
    return shared.field(ObjectFieldCreateResponse, fv, sign)


def sub_step_field(fv: FieldValues) -> ListTaskSubStepFieldsResponseData:
    """A listTaskSubStepFields item (choice fields only)."""
    return values.render_item(ListTaskSubStepFieldsResponseData, fv)


def _custom_values(fv: FieldValues, sign: Sign) -> list[dict[str, Any]]:
    """``[{id, name}]``: choices by id and name; texts, dates (``YYYY-MM-DD``, the API's
    input format) and file URLs as names without ids."""
    kind = KINDS[fv.field.type].values
    if kind == "choice":
        names = {c.id: c.name for c in fv.field.choices}
        return [{"id": v, "name": names[v]} for v in fv.values if v in names]
    shown = values.value_strings(fv, shared.file_url([fv], sign))
    if kind == "date":
        shown = [v[:10] for v in shown]
    return [{"id": None, "name": v} for v in shown]


def custom_field(fv: FieldValues, task_id: str, links: Links, sign: Sign) -> TaskCustomField:
    """listTaskCustomFields item, getTaskCustomField, updateTaskCustomField."""
    ids: dict[str, Any] = {"task_id": task_id, "custom_field_id": fv.field.id}
    has_choices = KINDS[fv.field.type].has_choices
    choices = links.to("listTaskCustomFieldChoices", **ids) if has_choices else None
    return TaskCustomField.model_validate(
        {
            "id": fv.field.id,
            "name": fv.field.name,
            "type": custom_type(fv.field),
            "values": _custom_values(fv, sign),
            "links": {"self": links.to("getTaskCustomField", **ids), "choices": choices},
        }
    )


def custom_field_choice(choice: FieldChoice) -> TaskCustomFieldChoiceListResponseItem:
    """A listTaskCustomFieldChoices item."""
    return TaskCustomFieldChoiceListResponseItem(id=choice.id, name=choice.name)
