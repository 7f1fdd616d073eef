"""Templates: listTemplates, getTemplate, and what work requests need of a template.

Templates arrive through the Settings import (``importing.py``); the API reads them.
Inactive templates are listed only with ``include_inactive=true`` but can always be got
by id (an old work request still points at its template).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.repository import Filters, Page, Repository, contains_pattern, read
from cmpapi.server.resources.templates.importing import (
    export_routing_rules,
    export_templates,
    import_routing_rules,
    import_templates,
)
from cmpapi.server.resources.templates.tables import Template
from cmpapi.wire import ListTemplatesParametersQuery

BY_TITLE = (func.lower(Template.title),)
WORK_REQUEST = "work_request"
# Form field types that hold no value (layout and help text).
LAYOUT_TYPES = frozenset({"section", "instruction"})


# What a page reads, as module-level columns and clauses (``Repository.rows`` prepares
# them once per combination of filters; the request's values go in ``params``).
LIST_COLUMNS = (
    Template.id,
    Template.title,
    Template.description,
    Template.is_active,
    Template.applicable_to,
)
_TITLE_HAS = Template.title.ilike(bindparam("title_pattern"), escape="\\")
_ACTIVE = Template.is_active.is_(True)
_APPLICABLE = Template.id.in_(bindparam("applicable", expanding=True))
_AREA_COLUMNS: tuple[Any, ...] = (Template.id, Template.applicable_to)
_AREAS = select(*_AREA_COLUMNS).where(Template.org_id == bindparam("org_id"))


def list_templates(
    session: Session, principal: Principal, params: ListTemplatesParametersQuery
) -> Page[Any]:
    """Active templates by title (case-insensitive); ``search`` matches within the title,
    ``applicable_to`` keeps those usable there, ``include_inactive`` adds inactive ones.
    Rows of ``LIST_COLUMNS``."""
    require(principal, "templates:read")
    filters = Filters()
    if isinstance(params.search, str) and params.search.strip():
        filters.add(_TITLE_HAS, title_pattern=contains_pattern(params.search.strip()))
    if params.include_inactive is not True:
        filters.add(_ACTIVE)
    if isinstance(params.applicable_to, str):
        filters.add(
            _APPLICABLE, applicable=_applicable(session, principal.org_id, params.applicable_to)
        )
    return Repository(Template, session, principal.org_id).rows(
        LIST_COLUMNS,
        *filters.where,
        order_by=BY_TITLE,
        offset=params.offset,
        page_size=params.page_size,
        params=filters.values,
    )


def _applicable(session: Session, org_id: str, area: str) -> list[str]:
    # applicable_to is a short JSON list: matched in Python, the same on SQLite and
    # PostgreSQL (an organization has tens of templates, not thousands).
    rows = read(session, _AREAS, {"org_id": org_id})
    return [row.id for row in rows if area in (row.applicable_to or [])]


def get_template(session: Session, principal: Principal, template_id: str) -> Template:
    """One template of the organization, active or not."""
    require(principal, "templates:read")
    return Repository(Template, session, principal.org_id).get(template_id)


def value_fields(template: Template) -> list[dict[str, Any]]:
    """The template's form fields that take values, in form order."""
    return [f for f in template.form_fields if f["type"] not in LAYOUT_TYPES]


__all__ = [
    "export_routing_rules",
    "export_templates",
    "get_template",
    "import_routing_rules",
    "import_templates",
    "list_templates",
    "value_fields",
]
