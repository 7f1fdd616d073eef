"""Field rows to wire models.

Every field response in the spec is a ``oneOf`` on ``type`` whose branches differ only in
which keys they carry (choices, number options, ...). ``typed`` builds the one data dict a
field has and validates it as the branch its type selects, keeping that branch's keys: the
same code renders field definitions (``listFields``) and values on objects
(``listAssetFields``, ``listTaskFields``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, RootModel

from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields.kinds import KINDS
from cmpapi.server.resources.fields.tables import Field
from cmpapi.wire import ListFieldsResponseData, SettingsFieldChoiceCreateResponse

RootT = TypeVar("RootT", bound=RootModel[Any])


@cache
def _branches(model: type[RootModel[Any]]) -> dict[str, type[BaseModel]]:
    """``type`` tag -> branch class of a discriminated ``RootModel`` union."""
    out: dict[str, type[BaseModel]] = {}
    for branch in get_args(model.model_fields["root"].annotation):
        for tag in get_args(branch.model_fields["type"].annotation):
            out.setdefault(tag, branch)
    return out


def typed(model: type[RootT], data: dict[str, Any]) -> RootT:
    """``data`` as the branch of ``model`` that ``data["type"]`` selects (other keys dropped)."""
    branch = _branches(model)[data["type"]]
    return model(branch.model_validate({k: v for k, v in data.items() if k in branch.model_fields}))


def choice_data(choice: Any, colored: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"id": choice.id, "name": choice.name}
    if colored:
        data["color"] = choice.color
    return data


def field_data(row: Any, choices: Sequence[Any] | None = None) -> dict[str, Any]:
    """What every field response shares: id, name, type, the kind's options and choices
    (``row.choices``, a Field's relationship, unless given: a ``service.LIST_COLUMNS``
    row's are read apart)."""
    kind = KINDS[row.type]
    data: dict[str, Any] = {"id": row.id, "name": row.name, "type": row.type}
    data.update((option, getattr(row, option)) for option in kind.options)
    if kind.has_choices:
        listed = row.choices if choices is None else choices
        data["choices"] = [choice_data(c, kind.colored_choices) for c in listed]
    return data


def list_fields_item(row: Any, choices: Sequence[Any], links: Links) -> dict[str, Any]:
    """A ``listFields`` item as plain data (``page_response`` checks it), from a
    ``service.LIST_COLUMNS`` row and its choices, with the keys of the branch its type
    selects (as ``typed``); ``links.source`` is the list filtered to this field."""
    data = field_data(row, choices)
    data.update(
        helper_text=row.helper_text,
        is_active=row.is_active,
        links={"source": links.to("listFields", query=[("ids", row.id)])},
    )
    keys = _branches(ListFieldsResponseData)[row.type].model_fields
    return {k: v for k, v in data.items() if k in keys}


def field_choices(row: Field) -> SettingsFieldChoiceCreateResponse:
    """All choices of a field (``createFieldChoices`` answers with every choice)."""
    return SettingsFieldChoiceCreateResponse.model_validate(
        [{"id": c.id, "name": c.name} for c in row.choices]
    )
