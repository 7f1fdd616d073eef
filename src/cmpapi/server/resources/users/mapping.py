"""User rows to wire models."""

from __future__ import annotations

from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.identity.tables import User
from cmpapi.wire import UserResponse

ROLE_NAMES = {"admin": "Admin", "member": "Member", "viewer": "Viewer"}


def full_name(first: str, last: str) -> str:
    return f"{first} {last}" if first and last else first or last


def user_list_item(user: Any, links: Links) -> dict[str, Any]:
    """A ``UserListResponseDataItem``, as plain data (``page_response`` checks it), from a
    ``service.LIST_COLUMNS`` row or a User."""
    return {
        "id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": full_name(user.first_name, user.last_name),
        "image_url": user.image_url,
        "roles": [{"name": ROLE_NAMES.get(user.role, user.role)}],
        "links": {"self": links.to("getUser", id=user.id)},
    }


def user_response(user: User, links: Links, expose_email: bool) -> UserResponse:
    """``email`` is null unless the calling app is set to expose emails (as in the CMP)."""
    return UserResponse.model_validate(
        {
            "id": user.id,
            "email": user.email if expose_email else None,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "full_name": full_name(user.first_name, user.last_name),
            "image_url": user.image_url,
            "links": {"self": links.to("getUser", id=user.id)},
        }
    )
