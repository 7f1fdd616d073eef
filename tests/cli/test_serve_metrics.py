"""`cmpapi serve --workers 2`: /metrics answers for every process together
(prometheus-client's multiprocess mode), whichever API process takes the scrape."""

from __future__ import annotations

from pathlib import Path

import httpx

from cmpapi.server.settings import Settings
from tests.cli.test_serve_workers import (  # noqa: F401 - `served` is a fixture
    Served,
    environment,
    roles,
    served,
    spread_over,
    token,
)
from tests.observability.metrics import value
from tests.webhooks.receiver import wait_until

REQUESTS = "cmpapi_http_requests_total"


def scrape(base: str) -> str:
    # A new connection each time: the kernel hands it to either API process.
    r = httpx.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=30)
    assert r.status_code == 200
    return r.text


def test_metrics_cover_every_process(served: Served) -> None:  # noqa: F811 - the fixture
    auth = {"Authorization": f"Bearer {token(served.base)}"}
    wait_until(lambda: len(roles(served.proc.pid)[0]) == 2, 60, "two API processes")
    api, workers = roles(served.proc.pid)
    directory = {environment(pid).get("PROMETHEUS_MULTIPROC_DIR") for pid in api + workers}
    assert len(directory) == 1 and None not in directory
    owners = spread_over(served, api, auth)  # both API processes answer requests
    assert all(owners.values())
    written = {p.name.rsplit("_", 1)[1] for p in Path(str(directory.pop())).glob("*.db")}
    assert {f"{pid}.db" for pid in api} <= written

    # Pool sizes are summed over the live processes: two API pools, one worker's.
    pool = Settings().db_pool_size
    first = scrape(served.base)
    assert value(first, "cmpapi_db_pool_size", pool="api") == 2 * pool
    assert value(first, "cmpapi_db_pool_size", pool="worker") > 0

    total = value(first, REQUESTS, operation="listUsers", status="200")
    for _ in range(10):
        r = httpx.get(
            f"{served.base}/v3/userlist?page_size=1",
            headers={**auth, "Connection": "close"},
            timeout=30,
        )
        assert r.status_code == 200
    # Every scrape, whichever process answers it, counts all ten.
    for _ in range(4):
        assert value(scrape(served.base), REQUESTS, operation="listUsers", status="200") == (
            total + 10
        )
