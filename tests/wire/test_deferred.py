"""The wire models are built on first use (``cmpapi.wire.base``), and nothing a client or
the server sees changes: the OpenAPI document served is the one the eagerly built models
give, and a model validates the same on its first use as later."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest
from pydantic import BaseModel, ValidationError

from tests.support.env import child_env

# The served OpenAPI document, with the wire models built as the app is made or, with
# "eager", every one of them built before the app is.
OPENAPI = """
import json, sys, tempfile
from pydantic import BaseModel
import cmpapi.wire.models as models
if sys.argv[1] == "eager":
    for obj in vars(models).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            if obj.__module__ == models.__name__:
                obj.model_rebuild(force=True)
from cmpapi.server.app import create_app
from cmpapi.server.settings import Settings
from starlette.testclient import TestClient
app = create_app(Settings(data_dir=tempfile.mkdtemp()))
built = sum(
    1 for obj in vars(models).values()
    if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__pydantic_complete__
)
answer = TestClient(app).get("/v3/openapi.json")  # no lifespan: no database needed
assert answer.status_code == 200, answer.status_code
print(built)
print(json.dumps(answer.json(), sort_keys=True))
"""


def openapi(mode: str) -> tuple[str, int]:
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", OPENAPI, mode],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    built, document = proc.stdout.split("\n", 1)
    return document, int(built)


def test_served_openapi_document_is_the_eager_models_one() -> None:
    deferred, built_deferred = openapi("deferred")
    eager, built_eager = openapi("eager")
    # Only the request bodies (and what they hold) are built with the app.
    assert built_deferred < built_eager / 2
    assert json.loads(deferred) == json.loads(eager)
    assert deferred == eager


def test_importing_the_models_builds_none() -> None:
    probe = (
        "import inspect, cmpapi.wire.models as m, pydantic;"
        "print(sum(1 for o in vars(m).values() if inspect.isclass(o)"
        " and issubclass(o, pydantic.BaseModel) and o.__module__ == m.__name__"
        " and o.__pydantic_complete__))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert proc.stdout.strip() == "0"


def test_first_use_validates_and_dumps_as_built() -> None:
    from cmpapi.wire import models

    classes = [
        obj
        for obj in vars(models).values()
        if inspect.isclass(obj) and issubclass(obj, BaseModel) and obj.__module__ == models.__name__
    ]
    assert all(cls.model_config.get("defer_build") for cls in classes)
    # A recursive model (its forward references resolve at first use) and a closed one.
    body = {"title": "T", "content_body": {"f": [{"locale": "en", "delete": True}]}}
    fields = models.RecursivePatchStructuredContentFields.model_validate(body)
    assert isinstance(fields.content_body, models.StructuredContentFields)
    assert fields.model_dump(mode="json", exclude_unset=True) == body
    with pytest.raises(ValidationError, match="nope"):
        models.AddUrlToTaskRequest.model_validate({"url": "https://a.example", "nope": 1})
