"""The reference for ``bench/run.py``: bare Starlette serving GET /v3/userlist from the
same SQLite file as cmpapi, with as little machinery as a hand-written handler needs.

It does the same work per request as cmpapi's listUsers, minus the framework layers:
- authenticates the bearer token: SHA-256 of the raw token looked up in ``oauth_tokens``
  joined to ``users`` and ``oauth_apps`` (kind, revocation, active user/app), expiry checked;
- reads one page of active users of the token's organization (``created_at, id`` order,
  one row more than asked to know whether there is a next page);
- builds the same JSON body (``data`` items with id, names, image_url, roles, links.self;
  ``pagination`` next/previous as absolute URLs) and serialises it with orjson.

One sqlite3 connection is shared by the worker and queried synchronously inside the
async handler (as in /work/shared/reference/baselines.md, ``/tasks-db``).

Run: ``BENCH_DB=/path/cmpapi.db uvicorn --app-dir bench --factory reference_app:make``.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROLE_NAMES = {"admin": "Admin", "member": "Member", "viewer": "Viewer"}

TOKEN_SQL = """
SELECT t.org_id, t.expires_at
FROM oauth_tokens AS t
JOIN users AS u ON u.id = t.user_id
JOIN oauth_apps AS a ON a.id = t.app_id
WHERE t.token_hash = ? AND t.kind = 'access' AND t.revoked_at IS NULL
  AND u.is_active = 1 AND a.is_active = 1
"""  # noqa: S105 - SQL text, not a password

PAGE_SQL = """
SELECT id, first_name, last_name, image_url, role
FROM users
WHERE org_id = ? AND is_active = 1
ORDER BY created_at, id
LIMIT ? OFFSET ?
"""

UNAUTHORIZED = b'{"message":"Unauthorized"}'
BAD_REQUEST = b'{"message":"Invalid query parameters"}'


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def _connect(path: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, check_same_thread=False)
    con.execute("PRAGMA busy_timeout=10000")
    return con


def make() -> Starlette:
    """The app (uvicorn ``--factory``); the database path comes from ``BENCH_DB``."""
    con = _connect(os.environ["BENCH_DB"])

    async def userlist(request: Request) -> Response:
        scheme, _, raw = request.headers.get("authorization", "").partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw:
            return _json(UNAUTHORIZED, 401)
        digest = hashlib.sha256(raw.encode()).hexdigest()
        row = con.execute(TOKEN_SQL, (digest,)).fetchone()
        if row is None:
            return _json(UNAUTHORIZED, 401)
        org_id, expires_at = row
        if datetime.fromisoformat(expires_at).replace(tzinfo=UTC) <= datetime.now(UTC):
            return _json(UNAUTHORIZED, 401)

        query = request.query_params
        try:
            offset = int(query.get("offset", "0"))
            page_size = int(query.get("page_size", "10"))
        except ValueError:
            return _json(BAD_REQUEST, 400)
        if offset < 0 or not 1 <= page_size <= 100:
            return _json(BAD_REQUEST, 400)

        rows = con.execute(PAGE_SQL, (org_id, page_size + 1, offset)).fetchall()
        has_next = len(rows) > page_size
        host = request.headers.get("host", "localhost")
        base = f"{request.scope['scheme']}://{host}"
        data: list[dict[str, Any]] = []
        for id_, first, last, image_url, role in rows[:page_size]:
            data.append(
                {
                    "first_name": first,
                    "full_name": " ".join(p for p in (first, last) if p),
                    "id": id_,
                    "image_url": image_url,
                    "last_name": last,
                    "links": {"self": f"{base}/v3/users/{quote(id_, safe='')}"},
                    "roles": [{"name": ROLE_NAMES.get(role, role)}],
                }
            )
        page_url = f"{base}/v3/userlist?offset={{}}&page_size={page_size}"
        body = {
            "data": data,
            "pagination": {
                "next": page_url.format(offset + page_size) if has_next else None,
                "previous": page_url.format(max(offset - page_size, 0)) if offset > 0 else None,
            },
        }
        return _json(orjson.dumps(body))

    return Starlette(routes=[Route("/v3/userlist", userlist)])
