"""Every SDK method, called against a live ``cmpapi serve`` process (issue 14).

The server is a real process (its embedded job worker on) on a SQLite file that this test
seeds: the authorization matrix's scene (``tests/authz/scene.py``) is built into the same
file, and each of the matrix's rows, one per operation, gives a valid request, which becomes
the SDK call (path parameters positional, query parameters by keyword, the JSON body as
``body=``). Rows owned by a member run with that member's token; rows owned by an admin run
with the app's client credentials (the app acts as the organization's admin).

Each call must succeed, and its answer must be the spec's (the client's transport validates
every /v3 answer, tests/contract); its result must have the method's declared type, hold no
field its model does not declare, and give back, dumped, the JSON it was read from. The sync
client calls every method one after another; then the async client calls every method
again, AT_ONCE at a time (the reads, then the writes on objects of their own). The operations
called, read off the answers the transports saw, must be the spec's 170 for each client.

One server for the module, and one test (pytest-xdist would otherwise start a server in
each worker that gets a test of the module).
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from cmpapi.client import AsyncClient, AsyncPager, Client, Pager
from cmpapi.server.db.engine import make_engine, make_sessionmaker
from cmpapi.server.settings import Settings
from tests.authz.scene import Req, Scene
from tests.authz.test_matrix import ADMIN, MATRIX, MEMBER, request_for
from tests.client.operation_calls import (
    OPERATIONS,
    Answer,
    AsyncCheckingTransport,
    CheckingTransport,
    answers_of,
    arguments,
    check_page,
    check_result,
    check_walk,
    return_hint,
    sdk_method,
    serve_process,
)
from tests.contract.spec import SPEC_AVAILABLE

pytestmark = pytest.mark.skipif(not SPEC_AVAILABLE, reason="needs the official spec")

WALKED = 300  # items a list method's pager walks (all of them in this scene)
AT_ONCE = 8  # async calls in flight


@dataclass
class Live:
    """The server's base URL and the scene in its database."""

    base: str
    scene: Scene

    def credentials(self, owner: str) -> dict[str, str]:
        """A member's token, or the app's client credentials for admin rows."""
        if owner == ADMIN:
            world = self.scene.a
            return {"client_id": world.app.client_id, "client_secret": world.client_secret}
        return {"token": self.scene.tokens[owner]}


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The server process, and the scene seeded into its database (while it starts)."""
    data_dir = tmp_path_factory.mktemp("every-operation")
    shutil.copy(sqlite_template, data_dir / "cmpapi.db")
    engine = make_engine(Settings(data_dir=data_dir))
    try:
        with serve_process(data_dir) as serving, httpx.Client(timeout=60) as http:
            scene = Scene.build(http, make_sessionmaker(engine))
            base = serving()
            http.base_url = httpx.URL(base)
            yield Live(base, scene)
    finally:
        engine.dispose()


# Rows whose request the server takes though it is short of the spec; the SDK checks bodies
# against the spec, so it gets the spec's form.
def _typed_upload(req: Req) -> Req:
    return replace(req, json={**req.json, "type": "direct_upload"})


def _wrapped_defaults(req: Req) -> Req:
    """The spec's LocalizedFieldValues wrapper, with cmpapi's keyed defaults beside it
    (an open schema: docs/compat.md)."""
    subtitle = [{"locale": "en_US", "field_values": [{"text_value": "Sub"}]}]
    defaults = {"locale": "en_US", "field_values": [], "subtitle": subtitle}
    return replace(req, json={"default_values": defaults})


SPEC_FORM = {
    "addAssetToTask": _typed_upload,
    "updateSCContentTypeManagedMigration": _wrapped_defaults,
}


def request(scene: Scene, op: str) -> Req:
    """The matrix row's request, in the spec's form."""
    req = request_for(scene, op, MATRIX[op].owner)
    return SPEC_FORM.get(op, lambda r: r)(req)


# -- the calls -------------------------------------------------------------------------------


def call(clients: dict[str, Client], req: Req, op: str, answers: list[Answer]) -> list[str]:
    """Call the operation's sync method with ``req``'s arguments; what is wrong."""
    method = sdk_method(clients[MATRIX[op].owner], op)
    args, kwargs = arguments(op, req, method)
    start = len(answers)
    value = method(*args, **kwargs)
    if isinstance(value, Pager):
        page = value.first_page()
        first = answers_of(answers, start, op)[0]
        walked = list(itertools.islice(value, WALKED))
        return check_page(page.data, page.raw, return_hint(method), first) + check_walk(
            walked, page.data
        )
    got = answers_of(answers, start, op)
    assert len(got) == 1, f"{len(got)} answers"
    return check_result(value, return_hint(method), got[0])


async def acall(
    clients: dict[str, AsyncClient], req: Req, op: str, answers: list[Answer]
) -> list[str]:
    """Call the operation's async method with ``req``'s arguments; what is wrong. Calls run
    side by side, each operation once: its answers are the ones of its operationId."""
    method = sdk_method(clients[MATRIX[op].owner], op)
    args, kwargs = arguments(op, req, method)
    if isinstance(pager := method(*args, **kwargs), AsyncPager):
        page = await pager.first_page()
        first = answers_of(answers, 0, op)[0]
        walked = [item async for item in pager][:WALKED]
        return check_page(page.data, page.raw, return_hint(method), first) + check_walk(
            walked, page.data
        )
    value = await pager
    got = answers_of(answers, 0, op)
    assert len(got) == 1, f"{len(got)} answers"
    return check_result(value, return_hint(method), got[0])


def failure(exc: Exception) -> list[str]:
    return [f"{type(exc).__name__}: {exc}"]


def run_sync(live: Live, answers: list[Answer]) -> dict[str, list[str]]:
    """Every operation through the sync client, one after another; what went wrong."""
    transport = CheckingTransport(answers)
    problems: dict[str, list[str]] = {}
    with (
        Client(server=live.base, transport=transport, **live.credentials(ADMIN)) as admin,
        Client(server=live.base, transport=transport, **live.credentials(MEMBER)) as member,
    ):
        clients = {ADMIN: admin, MEMBER: member}
        for op in sorted(MATRIX):
            try:
                found = call(clients, request(live.scene, op), op, answers)
            except Exception as exc:  # every operation is tried: one report for all
                found = failure(exc)
            if found:
                problems[op] = found
    return problems


async def run_async(
    live: Live, reqs: dict[str, Req], answers: list[Answer]
) -> dict[str, list[str]]:
    """Every operation through the async client, AT_ONCE at a time: the reads, then the
    writes (a list walked while another call adds to it would not start with its first
    page); what went wrong."""
    transport = AsyncCheckingTransport(answers)
    slots = asyncio.Semaphore(AT_ONCE)
    async with (
        AsyncClient(server=live.base, transport=transport, **live.credentials(ADMIN)) as admin,
        AsyncClient(server=live.base, transport=transport, **live.credentials(MEMBER)) as member,
    ):
        clients = {ADMIN: admin, MEMBER: member}

        async def one(op: str) -> list[str]:
            async with slots:
                try:
                    return await acall(clients, reqs[op], op, answers)
                except Exception as exc:  # every operation is tried: one report for all
                    return failure(exc)

        problems: dict[str, list[str]] = {}
        for reads in (True, False):
            ops = [op for op, req in reqs.items() if (req.method == "GET") is reads]
            found = await asyncio.gather(*(one(op) for op in ops))
            problems |= {op: f for op, f in zip(ops, found, strict=True) if f}
    return problems


def report(problems: dict[str, list[str]]) -> str:
    return f"{len(problems)} operations:\n" + "\n".join(
        f"{op}: {p}" for op, found in problems.items() for p in found
    )


def test_every_sdk_method_succeeds_on_a_live_server(live: Live) -> None:
    assert len(OPERATIONS) == 170
    answers: list[Answer] = []
    problems = run_sync(live, answers)
    assert problems == {}, "sync client: " + report(problems)
    assert {a.operation_id for a in answers} == set(OPERATIONS)

    # Writes get objects of their own again; reads reuse theirs (the matrix's cache).
    reqs = {op: request(live.scene, op) for op in sorted(MATRIX)}
    answers = []
    problems = asyncio.run(run_async(live, reqs, answers))
    assert problems == {}, "async client: " + report(problems)
    assert {a.operation_id for a in answers} == set(OPERATIONS)
