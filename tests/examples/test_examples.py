"""The programs in examples/ run as a user runs them, against a live ``cmpapi serve --demo``
process that delivers real webhooks to them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from PIL import Image

from cmpapi.client import Client, PermissionDeniedError
from tests.support.env import child_env
from tests.support.servers import demo_process, free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ADMIN_APP = ("cmpapi-demo-app", "cmpapi-demo-secret-do-not-use-in-production")
JIRA_APP = ("cmpapi-demo-jira", "cmpapi-demo-jira-secret-do-not-use-in-production")
SECRET = "example-webhook-secret"
T = TypeVar("T")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_process(tmp_path_factory.mktemp("examples") / "data") as (_proc, base):
        yield base


@pytest.fixture
def admin(server: str) -> Iterator[Client]:
    with Client(server=server, client_id=ADMIN_APP[0], client_secret=ADMIN_APP[1]) as client:
        yield client


def until(check: Callable[[], T], what: str, timeout: float = 60) -> T:
    """``check()`` once it is truthy (deliveries take a moment, more on a busy box)."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def run_example(server: str, app: tuple[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / args[0]), *args[1:]],
        env=example_env(server, app),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def example_env(server: str, app: tuple[str, str]) -> dict[str, str]:
    return child_env(
        CMP_SERVER=server, CMP_CLIENT_ID=app[0], CMP_CLIENT_SECRET=app[1], CMP_WEBHOOK_SECRET=SECRET
    )


@pytest.fixture
def start(server: str) -> Iterator[Callable[..., int]]:
    """Starts an example as a long-running receiver on a free port; its port. Stopped
    after the test."""
    procs: list[subprocess.Popen[str]] = []

    def launch(app: tuple[str, str], script: str, *args: str) -> int:
        port = free_port()
        argv = [sys.executable, str(EXAMPLES / script), *args, "--port", str(port)]
        procs.append(
            subprocess.Popen(
                argv,
                env=example_env(server, app),
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
        until(lambda: _answers(port) or procs[-1].poll() is not None, f"{script} to listen")
        assert procs[-1].poll() is None, procs[-1].communicate()[0]
        return port

    yield launch
    for proc in procs:
        proc.terminate()
        proc.communicate(timeout=10)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/").status_code == 405
    except httpx.TransportError:
        return False


def register(admin: Client, port: int, events: list[str]) -> None:
    token = admin.fetch_token().access_token
    body = {
        "name": f"example {port}",
        "callback_url": f"http://127.0.0.1:{port}/",
        "event_names": events,
        "secret": SECRET,
    }
    root = admin.endpoints.base_url.removesuffix("/v3")
    answer = httpx.post(
        f"{root}/ext/v1/webhooks", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 201, answer.text


def field(admin: Client, name: str) -> Any:
    return next(f for f in admin.fields.list_fields() if f.name == name)


def set_review_state(admin: Client, asset_id: str, state: str) -> None:
    review = field(admin, "Review state")
    choice = next(c.id for c in review.choices if c.name == state)
    admin.library.update_asset_field(
        asset_id, review.id, body={"type": "label", "values": [choice]}
    )


def photo(tmp_path: Path, name: str) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (640, 400), (30, 120, 200)).save(out, "JPEG")
    path = tmp_path / name
    path.write_bytes(out.getvalue())
    return path


def test_sync_approved_images(admin: Client, start: Callable[..., int], tmp_path: Path) -> None:
    first = admin.library.upload_asset(photo(tmp_path, "first.jpg"))
    set_review_state(admin, first.id, "Approved")
    dest = tmp_path / "approved"
    events = ["asset_added", "asset_modified", "asset_removed", "asset_renditions_created"]
    port = start(ADMIN_APP, "sync_approved_images.py", str(dest))
    register(admin, port, events)
    # The first pass copied the approved image; its renditions follow from their event.
    until(lambda: (dest / first.id).is_dir(), "the first pass")
    second = admin.library.upload_asset(photo(tmp_path, "second.jpg"))
    set_review_state(admin, second.id, "Approved")
    names = until(
        lambda: (
            {p.name for p in (dest / second.id).glob("*")}
            >= {"original.jpg", "thumbnail.jpg", "web.webp"}
            and {p.name for p in (dest / second.id).glob("*")}
        ),
        "an approved image and its renditions",
    )
    original = (dest / second.id / "original.jpg").read_bytes()
    assert original == (tmp_path / "second.jpg").read_bytes() and names
    set_review_state(admin, first.id, "Draft")
    until(lambda: not (dest / first.id).exists(), "an image no longer approved to go")
    admin.library.delete_image(second.id)
    until(lambda: not (dest / second.id).exists(), "a removed image to go")


def test_external_approval(
    admin: Client, start: Callable[..., int], server: str, tmp_path: Path
) -> None:
    tickets = tmp_path / "tickets"
    port = start(JIRA_APP, "external_approval.py", "serve", str(tickets))
    register(admin, port, ["external_sub_step_started"])
    workflow = next(
        w for w in admin.workflows.list_workflows() if w.name == "Legal review with Jira"
    )
    task = admin.tasks.create_task(body={"title": "Spring launch", "workflow_id": workflow.id})
    write = task.steps[0].sub_steps[0]
    admin.tasks.update_task_sub_step(
        task.id, task.steps[0].id, write.id, body={"is_completed": True}
    )
    first = until(lambda: _ticket(tickets, "CMP-1"), "the first external sub-step's ticket")
    assert first["task"] == task.id and first["status"] == "Open"
    link = admin.tasks.get_task_sub_step_external_work(task.id, first["step"], first["sub_step"])
    assert link.identifier == "CMP-1"
    approved = run_example(
        server, JIRA_APP, "external_approval.py", "approve", str(tickets), "CMP-1"
    )
    assert approved.returncode == 0, approved.stderr
    # The next sub-step defers its approval to Jira: CMP users may not complete it.
    legal = until(lambda: _ticket(tickets, "CMP-2"), "the deferred approval's ticket")
    ids = (task.id, legal["step"], legal["sub_step"])
    with pytest.raises(PermissionDeniedError):
        admin.tasks.update_task_sub_step(*ids, body={"is_completed": True})
    approved = run_example(
        server, JIRA_APP, "external_approval.py", "approve", str(tickets), "CMP-2"
    )
    assert approved.returncode == 0, approved.stderr
    assert admin.tasks.get_task_sub_step(*ids).is_completed is True
    assert _ticket(tickets, "CMP-2")["status"] == "Approved"


def _ticket(tickets: Path, name: str) -> dict[str, Any] | None:
    path = tickets / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def test_mirror_field_values(admin: Client, start: Callable[..., int], tmp_path: Path) -> None:
    asset = admin.library.upload_asset(photo(tmp_path, "mirrored.jpg"))
    out = tmp_path / "field-values.json"
    port = start(ADMIN_APP, "mirror_field_values.py", str(out))
    register(admin, port, ["asset_added", "asset_modified", "asset_removed"])
    assert asset.id in json.loads(out.read_text())
    set_review_state(admin, asset.id, "Approved")
    choice = next(c.id for c in field(admin, "Review state").choices if c.name == "Approved")
    until(
        lambda: json.loads(out.read_text())[asset.id].get("Review state") == [choice],
        "the new value",
    )
    admin.library.delete_image(asset.id)
    until(lambda: asset.id not in json.loads(out.read_text()), "the removed asset to go")
