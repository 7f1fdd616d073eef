"""The route table: every router of the app and the prefix it is served under, in the order
FastAPI tries them. ``app.create_app`` mounts exactly this; a new route module is one line
here."""

from __future__ import annotations

from fastapi import APIRouter

from cmpapi.server.ext import apps as ext_apps
from cmpapi.server.ext import trigger as ext_trigger
from cmpapi.server.ext import web_app
from cmpapi.server.oauth import routes as oauth
from cmpapi.server.resources.calendar_events import field_routes as event_field_routes
from cmpapi.server.resources.calendar_events import routes as calendar_events
from cmpapi.server.resources.campaigns import routes as campaigns
from cmpapi.server.resources.campaigns import sub_routes as campaign_sub_routes
from cmpapi.server.resources.fields import routes as fields
from cmpapi.server.resources.labels import routes as labels
from cmpapi.server.resources.library import (
    asset_routes,
    folder_routes,
    relation_routes,
    rendition_routes,
    type_routes,
)
from cmpapi.server.resources.milestones import routes as milestones
from cmpapi.server.resources.publishing import ext_routes as ext_publishing
from cmpapi.server.resources.publishing import routes as publishing
from cmpapi.server.resources.settings import routes as settings
from cmpapi.server.resources.structured_content import library_routes as sc_library
from cmpapi.server.resources.structured_content import managed_ext_routes as sc_ext
from cmpapi.server.resources.structured_content import migration_routes as sc_migrations
from cmpapi.server.resources.structured_content import preview_ext_routes as sc_preview_ext
from cmpapi.server.resources.structured_content import preview_routes as sc_previews
from cmpapi.server.resources.structured_content import routes as sc_types
from cmpapi.server.resources.structured_content import task_routes as sc_task_contents
from cmpapi.server.resources.tasks import asset_routes as task_asset_routes
from cmpapi.server.resources.tasks import comment_routes as task_comment_routes
from cmpapi.server.resources.tasks import metadata_routes as task_metadata_routes
from cmpapi.server.resources.tasks import routes as tasks
from cmpapi.server.resources.teams import routes as teams
from cmpapi.server.resources.templates import routes as templates
from cmpapi.server.resources.uploader import routes as uploader
from cmpapi.server.resources.users import routes as users
from cmpapi.server.resources.work_requests import routes as work_requests
from cmpapi.server.resources.work_requests import start_routes as work_request_starts
from cmpapi.server.resources.work_requests import sub_routes as work_request_sub_routes
from cmpapi.server.resources.workflows import routes as workflows
from cmpapi.server.storage import routes as storage
from cmpapi.server.webhooks import routes as webhooks
from cmpapi.server.webhooks import stream_routes as event_streams

V3 = "/v3"

ROUTE_TABLE: tuple[tuple[str, APIRouter], ...] = (
    ("", oauth.router),  # /o/oauth2/v1/...
    ("", ext_apps.router),  # /ext/v1/apps
    ("", webhooks.router),  # /ext/v1/webhooks
    ("", event_streams.router),  # /ext/v1/events/stream
    ("", ext_trigger.router),  # /ext/v1/events/trigger
    ("", web_app.router),  # /ext/v1: what the CMP web app does (briefs, deletions)
    ("", ext_publishing.router),  # /ext/v1/publishing-channels
    ("", sc_ext.router),  # /ext/v1/structured-content/managed-migrations
    ("", sc_preview_ext.router),  # /ext/v1/previews, /ext/v1/tasks/.../previews
    ("", storage.router),  # the local backend's /uploads and /files
    (V3, users.router),
    (V3, teams.router),
    (V3, folder_routes.router),
    (V3, asset_routes.router),
    (V3, type_routes.router),
    (V3, relation_routes.router),
    (V3, rendition_routes.router),
    (V3, fields.router),
    (V3, labels.router),
    (V3, uploader.router),
    (V3, workflows.router),
    (V3, tasks.router),
    (V3, settings.router),
    (V3, task_asset_routes.router),
    (V3, task_comment_routes.router),
    (V3, task_metadata_routes.router),
    (V3, milestones.router),
    (V3, campaigns.router),
    (V3, campaign_sub_routes.router),
    (V3, calendar_events.router),
    (V3, event_field_routes.router),
    (V3, templates.router),
    (V3, work_requests.router),
    (V3, work_request_sub_routes.router),
    (V3, work_request_starts.router),
    (V3, publishing.router),
    (V3, sc_types.router),
    (V3, sc_library.router),
    (V3, sc_migrations.router),
    (V3, sc_task_contents.router),
    (V3, sc_previews.router),
)

V3_ROUTERS: tuple[APIRouter, ...] = tuple(r for prefix, r in ROUTE_TABLE if prefix == V3)
