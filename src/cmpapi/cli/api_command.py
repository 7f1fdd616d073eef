"""``cmpapi api METHOD PATH``: any operation of the API, as ``gh api`` does for GitHub."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from cmpapi.cli import profiles, remote
from cmpapi.cli.remote import ProfileOption

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def api(
    method: Annotated[str, typer.Argument(help="GET, POST, PUT, PATCH or DELETE")],
    path: Annotated[
        str, typer.Argument(help="Path under the API base (/assets, or /v3/assets), or a URL")
    ],
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", help="JSON body; @FILE reads it from a file, @- from stdin"),
    ] = None,
    query: Annotated[
        list[str] | None, typer.Option("--query", "-q", help="Query parameter k=v (repeatable)")
    ] = None,
    paginate: Annotated[
        bool,
        typer.Option(help="GET every page (following pagination.next); print all items"),
    ] = False,
    profile: ProfileOption = profiles.DEFAULT_PROFILE,
) -> None:
    """Send any request to the API and print the JSON answer.

    A redirect (getAssetUrl, findUserByEmail) prints its location; an empty answer
    prints nothing."""
    method = method.upper()
    if method not in METHODS:
        remote.fail(f"METHOD must be one of {', '.join(METHODS)} (not {method})", 2)
    if paginate and method != "GET":
        remote.fail("--paginate works with GET only", remote.EXIT_USAGE)
    params = _query(query or [])
    body = _body(data) if data is not None else None
    with remote.session(profile) as client:
        target = _path(path, client.endpoints.base_url)
        if paginate:
            result: Any = _every_item(client, target, params)
        else:
            response = client.request(method, target, params=params or None, json=body)
            result = _answer(response)
    if result is not None:
        remote.print_json(result)


def _query(pairs: list[str]) -> list[tuple[str, str]]:
    params = []
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not key or not equals:
            remote.fail(f"--query {pair}: expected KEY=VALUE", remote.EXIT_USAGE)
        params.append((key, value))
    return params


def _body(data: str) -> Any:
    try:
        if data == "@-":
            text = sys.stdin.read()
        elif data.startswith("@"):
            text = Path(data[1:]).read_text()
        else:
            text = data
        return json.loads(text)
    except OSError as exc:
        remote.fail(f"--data {data}: {exc}", remote.EXIT_USAGE)
    except ValueError as exc:
        remote.fail(f"--data is not JSON: {exc}", remote.EXIT_USAGE)


def _path(path: str, base_url: str) -> str:
    """``path`` relative to the base URL: ``assets``, ``/assets`` and ``/v3/assets`` all
    name ``{base}/assets``; absolute URLs are kept (the SDK sends the token only to the
    API's origin)."""
    if "://" in path:
        return path
    path = "/" + path.lstrip("/")
    prefix = urlsplit(base_url).path.rstrip("/")
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :] or "/"
    return path


def _answer(response: Any) -> Any:
    if 300 <= response.status_code < 400:
        location = {"status": response.status_code, "location": response.headers.get("location")}
        if "x-resource-location" in response.headers:
            location["resource_location"] = response.headers["x-resource-location"]
        return location
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _every_item(client: Any, path: str, params: list[tuple[str, str]]) -> list[Any]:
    """Every item of a list operation: its pages' ``data`` in order, following
    ``pagination.next`` as given (a bare JSON array answer is all there is)."""
    items: list[Any] = []
    url: str | None = path
    query: list[tuple[str, str]] | None = params or None
    while url:
        page = client.request("GET", url, params=query).json()
        query = None  # the next links carry the query already
        if isinstance(page, list):
            return items + page
        if not isinstance(page, dict) or "data" not in page:
            remote.fail("--paginate: the answer is not a list page ({data, pagination})")
        items.extend(page["data"])
        url = (page.get("pagination") or {}).get("next")
    return items
