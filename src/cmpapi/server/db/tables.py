"""Imports every table module so ``Base.metadata`` is complete (Alembic, tests).

Add each new ``tables.py`` here.
"""

from cmpapi.server.db import counters
from cmpapi.server.db.base import Base
from cmpapi.server.events import outbox
from cmpapi.server.identity import tables as identity
from cmpapi.server.jobs import tables as jobs
from cmpapi.server.oauth import tables as oauth
from cmpapi.server.resources.calendar_events import tables as calendar_events
from cmpapi.server.resources.campaigns import tables as campaigns
from cmpapi.server.resources.fields import tables as fields
from cmpapi.server.resources.labels import tables as labels
from cmpapi.server.resources.library import tables as library
from cmpapi.server.resources.milestones import tables as milestones
from cmpapi.server.resources.publishing import tables as publishing
from cmpapi.server.resources.structured_content import managed_tables as sc_migrations
from cmpapi.server.resources.structured_content import preview_tables as sc_previews
from cmpapi.server.resources.structured_content import tables as structured_content
from cmpapi.server.resources.subresources import tables as subresources
from cmpapi.server.resources.tasks import asset_tables as task_assets
from cmpapi.server.resources.tasks import metadata_tables as task_metadata
from cmpapi.server.resources.tasks import tables as tasks
from cmpapi.server.resources.templates import tables as templates
from cmpapi.server.resources.work_requests import tables as work_requests
from cmpapi.server.resources.workflows import tables as workflows
from cmpapi.server.storage import tables as storage
from cmpapi.server.webhooks import tables as webhooks

__all__ = [
    "Base",
    "calendar_events",
    "campaigns",
    "counters",
    "fields",
    "identity",
    "jobs",
    "labels",
    "library",
    "milestones",
    "oauth",
    "outbox",
    "publishing",
    "sc_migrations",
    "sc_previews",
    "storage",
    "structured_content",
    "subresources",
    "task_assets",
    "task_metadata",
    "tasks",
    "templates",
    "webhooks",
    "work_requests",
    "workflows",
]
