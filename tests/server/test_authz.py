"""The one authorization mechanism: role permissions and object rules."""

from __future__ import annotations

import pytest

from cmpapi.server.authz import Principal, object_rule, require, require_object, role_allows
from cmpapi.server.errors import Forbidden


def principal(role: str, user_id: str = "u1") -> Principal:
    return Principal(org_id="o", user_id=user_id, role=role, app_id="a")


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        ("admin", "apps:write", True),
        ("member", "apps:write", False),
        ("member", "users:read", True),
        ("member", "assets:write", True),
        ("member", "users:write", False),
        ("viewer", "assets:read", True),
        ("viewer", "assets:write", False),
        ("viewer", "apps:read", False),
        ("member", "apps:read", False),
        ("unknown", "users:read", False),
        ("admin", "fields:write", True),
        ("member", "fields:write", False),
        ("viewer", "fields:write", False),
        ("member", "fields:read", True),
        ("viewer", "fields:read", True),
        ("member", "labels:write", False),
        ("viewer", "labels:read", True),
    ],
)
def test_role_permissions(role: str, permission: str, allowed: bool) -> None:
    assert role_allows(role, permission) is allowed
    if allowed:
        require(principal(role), permission)
    else:
        with pytest.raises(Forbidden):
            require(principal(role), permission)


def test_object_rules_apply_to_non_admins() -> None:
    @object_rule("test_widget")
    def owner_only(p: Principal, obj: dict[str, str], action: str) -> bool:
        return obj["owner"] == p.user_id

    mine, theirs = {"owner": "u1"}, {"owner": "u2"}
    require_object(principal("member"), "test_widget", mine, "write")
    with pytest.raises(Forbidden):
        require_object(principal("member"), "test_widget", theirs, "write")
    require_object(principal("admin"), "test_widget", theirs, "write")
    with pytest.raises(Forbidden):
        require_object(principal("viewer"), "test_widget", mine, "write")
