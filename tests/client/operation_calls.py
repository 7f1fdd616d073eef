"""What tests/client/test_every_operation.py needs to call every SDK method on a live server:
a ``cmpapi serve`` process on a database the test seeds, transports that check each answer
against the official spec and note which operation it was, the translation of an
authorization-matrix request (``tests/authz``) into an SDK call, and the checks of a result
(its type, and that the SDK's model gives back the JSON it was read from).
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import BaseModel, RootModel
from pydantic_core import to_jsonable_python

from cmpapi.client import AsyncPager, Pager, Redirect
from tests.authz.scene import Req
from tests.contract.spec import SPEC_PATH, find_operation, validate_response
from tests.support.env import child_env
from tests.support.servers import free_port, wait_serving

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from gen_client import pascal, snake  # noqa: E402

SPEC = json.loads(SPEC_PATH.read_text())
# operationId -> (tag, method, path template)
OPERATIONS: dict[str, tuple[str, str, str]] = {
    op["operationId"]: (op["tags"][0], method.upper(), path)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if method in ("get", "post", "put", "patch", "delete")
}


# -- the server ------------------------------------------------------------------------------


@contextmanager
def serve_process(data_dir: Path) -> Iterator[Callable[[], str]]:
    """A real ``cmpapi serve`` process (not demo: its embedded job worker on, rate limiting
    off as by default) on ``data_dir``'s database. Yields a function that waits until it
    answers and returns its base URL: the test seeds the database while it starts."""
    port = free_port()
    log = data_dir / "serve.log"
    argv = [sys.executable, "-m", "cmpapi.cli.main", "serve", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*argv, "--data-dir", str(data_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(),
        )
    base = f"http://127.0.0.1:{port}"

    def serving() -> str:
        wait_serving(proc, base, lambda: log.read_text(errors="replace"))
        return base

    try:
        yield serving
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# -- what was called -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One /v3 answer a client received: its operation, status and body."""

    operation_id: str
    status: int
    body: bytes


def _checked(request: httpx.Request, response: httpx.Response) -> Answer | None:
    """The answer, validated against the spec (None outside /v3: the token endpoint)."""
    path = request.url.raw_path.decode("ascii").split("?", 1)[0]
    op = find_operation(request.method, path)
    if op is None:
        return None
    validate_response(
        request.method, path, response.status_code, response.headers, response.content
    )
    return Answer(op.operation_id, response.status_code, response.content)


class CheckingTransport(httpx.HTTPTransport):
    """The sync client's transport: every /v3 answer is checked and noted in ``answers``."""

    def __init__(self, answers: list[Answer]) -> None:
        super().__init__()
        self.answers = answers

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        answer = _checked(request, response)
        if answer is not None:
            self.answers.append(answer)
        return response


class AsyncCheckingTransport(httpx.AsyncHTTPTransport):
    """The async client's transport, as :class:`CheckingTransport`."""

    def __init__(self, answers: list[Answer]) -> None:
        super().__init__()
        self.answers = answers

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        await response.aread()
        answer = _checked(request, response)
        if answer is not None:
            self.answers.append(answer)
        return response


# -- from a matrix request to an SDK call ----------------------------------------------------


def sdk_method(client: object, operation_id: str) -> Any:
    """The client's method of an operation: ``client.<tag>.<snake(operationId)>``."""
    tag = OPERATIONS[operation_id][0]
    return getattr(getattr(client, snake(pascal(tag))), snake(operation_id))


def _query_value(annotation: Any, value: Any) -> Any:
    """A query value as a Python caller passes it: a list where the SDK takes a sequence,
    a bool for ``"true"``."""
    text = str(annotation)
    if "Sequence" in text and not isinstance(value, list | tuple):
        return [value]
    if text.startswith("bool") and isinstance(value, str):
        return value == "true"
    return value


def arguments(operation_id: str, req: Req, method: Any) -> tuple[list[str], dict[str, Any]]:
    """``req`` (a matrix request: a concrete path, query, JSON body) as the arguments of
    the SDK method: path parameters positional (in path order), query parameters by
    keyword, the body as ``body=``."""
    _, verb, template = OPERATIONS[operation_id]
    assert req.method == verb, (operation_id, req.method)
    path = urlsplit(req.path).path.removeprefix("/v3")
    found = find_operation(verb, "/v3" + path)
    assert found is not None and found.operation_id == operation_id, (operation_id, req.path)
    args = [
        unquote(actual)
        for expected, actual in zip(template.split("/"), path.split("/"), strict=True)
        if expected.startswith("{")
    ]
    hints = typing.get_type_hints(method)
    kwargs = {k: _query_value(hints[k], v) for k, v in (req.params or {}).items()}
    if req.json is not None:
        kwargs["body"] = req.json
    return args, kwargs


# -- checking a result -----------------------------------------------------------------------


def return_hint(method: Any) -> Any:
    """The method's declared result type."""
    return typing.get_type_hints(method)["return"]


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the (generated, so simple) type ``hint``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is None or hint is type(None):
        return value is None
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            conforms(k, args[0]) and conforms(v, args[1]) for k, v in value.items()
        )
    if origin is typing.Literal:
        return value in args
    if origin in (Pager, AsyncPager):
        return isinstance(value, origin)
    return isinstance(hint, type) and isinstance(value, hint)


def item_hint(hint: Any) -> Any:
    """The item type of a ``Pager[...]`` hint."""
    return typing.get_args(hint)[0]


def as_json(value: Any) -> Any:
    """A result as the JSON it stands for: the fields the server sent, those its model
    declares and the others (``model_extra``, which ``model_dump`` leaves out)."""
    if isinstance(value, RootModel):
        return as_json(value.root)
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        declared = {
            fields[name].alias or name: as_json(getattr(value, name))
            for name in value.model_fields_set
            if name in fields
        }
        return declared | {k: as_json(v) for k, v in (value.model_extra or {}).items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return to_jsonable_python(value)


def extras(value: Any, where: str = "$") -> list[str]:
    """Where a parsed result holds fields its model does not declare. Against cmpapi (whose
    answers follow the spec) any is a wrong union member or a model missing a field."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        if type(value).model_fields:  # a model without fields is a free-form object
            found += [f"{where}.{k}" for k in value.model_extra or {}]
        for name in type(value).model_fields:
            found += extras(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += extras(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            found += extras(v, f"{where}.{k}")
    return found


def differences(parsed: Any, raw: Any, where: str = "$") -> list[str]:
    """Where the parsed result's JSON differs from the JSON received. Timestamps compare as
    instants (the SDK hands out ``datetime``s, not the server's spelling)."""
    if isinstance(raw, dict) and isinstance(parsed, dict):
        keys = sorted(raw.keys() | parsed.keys())
        return [d for k in keys for d in differences(parsed.get(k), raw.get(k), f"{where}.{k}")]
    if isinstance(raw, list) and isinstance(parsed, list) and len(raw) == len(parsed):
        return [
            d
            for i, (p, r) in enumerate(zip(parsed, raw, strict=True))
            for d in differences(p, r, f"{where}[{i}]")
        ]
    if parsed == raw or (isinstance(raw, str) and _same_instant(parsed, raw)):
        return []
    return [f"{where}: sent {raw!r}, parsed {parsed!r}"]


def _same_instant(parsed: Any, raw: str) -> bool:
    try:
        return bool(datetime.fromisoformat(parsed) == datetime.fromisoformat(raw))
    except (TypeError, ValueError):
        return False


def check_result(value: Any, hint: Any, answer: Answer) -> list[str]:
    """What is wrong with a (non-list) method's result ``value`` for ``answer``."""
    problems = [] if conforms(value, hint) else [f"result {type(value).__name__} is not {hint}"]
    if isinstance(value, Redirect):
        return problems + ([] if value.location else ["a redirect without its location"])
    if not answer.body:
        return problems
    problems += [f"undeclared field {p}" for p in extras(value)]
    return problems + differences(as_json(value), json.loads(answer.body))


def check_page(data: list[Any], raw: Any, hint: Any, answer: Answer) -> list[str]:
    """What is wrong with a list method's first page (``data``, envelope ``raw``)."""
    item = item_hint(hint)
    problems = [f"item {type(v).__name__} is not {item}" for v in data if not conforms(v, item)]
    problems += [f"undeclared field {p}" for p in extras(raw)]
    body = json.loads(answer.body)
    problems += differences(as_json(raw), body)
    return problems + differences(as_json(data), body.get("data"), "$.data")


def check_walk(walked: list[Any], first: list[Any]) -> list[str]:
    """What is wrong with the items a pager walked, given its first page's. Items compare by
    id: an image's renditions may be ready between the two requests."""
    key = [getattr(item, "id", None) or as_json(item) for item in walked[: len(first)]]
    if key != [getattr(item, "id", None) or as_json(item) for item in first]:
        return ["walking the pager did not start with the first page's items"]
    return []


def answers_of(answers: list[Answer], start: int, operation_id: str) -> list[Answer]:
    """The answers noted since ``start`` for ``operation_id``."""
    return [a for a in answers[start:] if a.operation_id == operation_id]
