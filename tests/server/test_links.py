"""``Links.to``: an API link names the operation it points at; the path comes from the
operation's route."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cmpapi.server.app import create_app
from cmpapi.server.http import links as links_module
from cmpapi.server.http.links import LinkError, Links
from cmpapi.server.settings import Settings

LINKS = Links("https://cmp.example.com/")


def test_a_link_is_the_operation_path_under_v3_with_its_params() -> None:
    assert LINKS.to("getCampaignBrief", id="c1") == "https://cmp.example.com/v3/campaigns/c1/brief"
    assert LINKS.to("findUserByEmail") == "https://cmp.example.com/v3/users"
    sub_step = LINKS.to("getTaskSubStep", task_id="t", step_id="s", sub_step_id="ss")
    assert sub_step == "https://cmp.example.com/v3/tasks/t/steps/s/sub-steps/ss"
    content = LINKS.to("getTaskStructuredContent", task_id="t", content_id="c")
    assert content == "https://cmp.example.com/v3/tasks/t/structured-contents/c"
    ack = LINKS.to("acknowledgeSCContentPreview", content_id="c", version_id="v", preview_id="p")
    assert ack == (
        "https://cmp.example.com/v3/structured-content/contents/c/versions/v/previews/p/acknowledge"
    )


def test_each_param_is_percent_encoded_as_one_segment() -> None:
    url = LINKS.to("getTaskSubStep", task_id="a b", step_id="x/y?z", sub_step_id="é%")
    assert url == "https://cmp.example.com/v3/tasks/a%20b/steps/x%2Fy%3Fz/sub-steps/%C3%A9%25"


def test_the_query_is_percent_encoded_and_absent_when_empty() -> None:
    url = LINKS.to("listFolders", query=[("parent_folder_id", "a&b c"), ("x", "/")])
    assert url == "https://cmp.example.com/v3/folders?parent_folder_id=a%26b%20c&x=%2F"
    assert LINKS.to("listFolders", query=[]) == "https://cmp.example.com/v3/folders"


def test_an_unknown_operation_or_wrong_params_are_programming_errors() -> None:
    with pytest.raises(LinkError, match="getNothing"):
        LINKS.to("getNothing", id="x")
    with pytest.raises(LinkError, match="task_id"):
        LINKS.to("getTaskSubStep", task_id="t", step_id="s")  # sub_step_id missing
    with pytest.raises(LinkError, match="workflow_id"):
        LINKS.to("getWorkflow", id="w")  # the route names it workflow_id
    with pytest.raises(LinkError):
        LINKS.to("getTask", id="t", extra="x")
    with pytest.raises(LinkError):  # the /ext/v1 operations are no /v3 link targets
        LINKS.to("extGetWebhook", webhook_id="w")


def test_every_registered_operation_is_served_at_its_path_under_v3(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    served = {
        op["operationId"]: path
        for path, methods in app.openapi()["paths"].items()
        if path.startswith("/v3/")
        for op in methods.values()
    }
    registered = {op: f"/v3{path}" for op, path in links_module.operations().items()}
    assert registered == served  # every /v3 operation is a link target, at its own path


def test_links_work_before_the_app_is_assembled() -> None:
    # The CLI records events (with links) without building the app: the first link to an
    # operation not registered yet imports every route module.
    code = (
        "import sys\n"
        "from cmpapi.server.http.links import Links, operations\n"
        "assert not operations() and 'cmpapi.server.routes' not in sys.modules\n"
        "print(Links('http://x').to('getTask', id='t1'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "http://x/v3/tasks/t1"
