"""The one authorization mechanism every resource uses.

Two layers:
- role permissions: ``require(principal, "users:read")`` - what a role may do at all;
- object rules: resources register ``object_rule("folder")`` functions deciding access to
  one row (folder/asset/task ACLs arrive with their issues). Admins pass object rules.

A refusal raises ``Forbidden``, rendered as 403 with the CMP body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cmpapi.server.errors import Forbidden

ROLES = ("admin", "member", "viewer")
# Permissions that only admins hold: organization-wide configuration.
ADMIN_ONLY_PREFIXES = (
    "apps:",
    "webhooks:",
    "settings:write",
    "users:write",
    "teams:write",
    "fields:write",
    "labels:write",
    "content_types:write",
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's user, app and organization."""

    org_id: str
    user_id: str
    role: str
    app_id: str
    scope: str = ""
    expose_email: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def role_allows(role: str, permission: str) -> bool:
    """Whether ``role`` holds ``permission`` (``<resource>:<action>``)."""
    if role == "admin":
        return True
    if permission.startswith(ADMIN_ONLY_PREFIXES):
        return False
    if role == "member":
        return True
    if role == "viewer":
        return permission.endswith(":read")
    return False


def require(principal: Principal, permission: str) -> None:
    """Raise Forbidden unless the principal's role holds the permission."""
    if not role_allows(principal.role, permission):
        raise Forbidden()


ObjectRule = Callable[[Principal, Any, str], bool]
_OBJECT_RULES: dict[str, ObjectRule] = {}


def object_rule(kind: str) -> Callable[[ObjectRule], ObjectRule]:
    """Register the access rule for one kind of object (e.g. ``"folder"``)."""

    def register(rule: ObjectRule) -> ObjectRule:
        _OBJECT_RULES[kind] = rule
        return rule

    return register


def require_object(principal: Principal, kind: str, obj: Any, action: str) -> None:
    """Raise Forbidden unless the role allows ``kind:action`` and the object rule agrees."""
    require(principal, f"{kind}:{action}")
    rule = _OBJECT_RULES.get(kind)
    if rule is not None and not principal.is_admin and not rule(principal, obj, action):
        raise Forbidden()
