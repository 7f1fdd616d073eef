"""Field values of tasks -> wire models: fields (``FieldListResponseItem`` and relatives,
rendered by ``fields.values``) and the older ``TaskCustomField`` shapes."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.fields.kinds import KINDS
from cmpapi.server.resources.fields.tables import FieldChoice
from cmpapi.server.resources.fields.values import FieldValues, FileUrl
from cmpapi.server.resources.library.files import Signer as Sign
from cmpapi.server.resources.subresources.mapping import OCTET_STREAM
from cmpapi.server.resources.tasks.field_custom import custom_type
from cmpapi.wire import (
    FieldListResponseItem,
    ListTaskSubStepFieldsResponseData,
    ObjectFieldCreateResponse,
    TaskCustomField,
    TaskCustomFieldChoiceListResponseItem,
)


def file_url(fvs: Iterable[FieldValues], sign: Sign) -> FileUrl:
    """``key -> download URL`` for the image and video values among ``fvs``, served under
    the title the value was given."""
    titles = {v["key"]: v["title"] for fv in fvs if KINDS[fv.field.type].values == "file"
              for v in fv.values}  # fmt: skip

    def url(key: str) -> str:
        title = titles.get(key, key)
        return sign(key, title, mimetypes.guess_type(title)[0] or OCTET_STREAM)

    return url


def task_field(fv: FieldValues, sign: Sign) -> FieldListResponseItem:
    """A listTaskFields item."""
    return values.render_item(FieldListResponseItem, fv, file_url=file_url([fv], sign))


def added_field(fv: FieldValues, sign: Sign) -> ObjectFieldCreateResponse:
    """addFieldToTask's answer: the field as the task now holds it."""
    return values.render_item(ObjectFieldCreateResponse, fv, file_url=file_url([fv], sign))


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
    shown = values.value_strings(fv, file_url([fv], sign))
    if kind == "date":
        shown = [v[:10] for v in shown]
    return [{"id": None, "name": v} for v in shown]


def custom_field(fv: FieldValues, task_id: str, links: Links, sign: Sign) -> TaskCustomField:
    """listTaskCustomFields item, getTaskCustomField, updateTaskCustomField."""
    path = ("tasks", task_id, "custom-fields", fv.field.id)
    choices = links.api(*path, "choices") if KINDS[fv.field.type].has_choices else None
    return TaskCustomField.model_validate({
        "id": fv.field.id,
        "name": fv.field.name,
        "type": custom_type(fv.field),
        "values": _custom_values(fv, sign),
        "links": {"self": links.api(*path), "choices": choices},
    })  # fmt: skip


def custom_field_choice(choice: FieldChoice) -> TaskCustomFieldChoiceListResponseItem:
    """A listTaskCustomFieldChoices item."""
    return TaskCustomFieldChoiceListResponseItem(id=choice.id, name=choice.name)
