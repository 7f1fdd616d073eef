"""Concurrent drafts over real HTTP: numbers stay consecutive and unique, and a key sent
twice at once makes one draft (on PostgreSQL the requests really run in parallel)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy.orm import Session

from cmpapi.server.resources.tasks.asset_tables import TaskAssetDraft
from tests.support.uploads import jpeg, upload
from tests.support.world import World
from tests.tasks.test_task_assets import added, count, new_task


def test_concurrent_drafts(client: Any, http: httpx.Client, db: Session, world: World) -> None:
    task = new_task(client, world)
    aid = added(client, world, task, jpeg())["id"]
    keys = [upload(client, world, jpeg(5 + i, 5)) for i in range(6)]

    def post(key: str) -> httpx.Response:
        return http.post(
            f"/v3/tasks/{task}/assets/{aid}/drafts",
            json={"key": key, "title": "t"},
            headers=world.auth(),
        )

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, [*keys, keys[0], keys[0]]))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 6 + [422] * 2
    numbers = sorted(r.json()["draft_number"] for r in responses if r.status_code == 201)
    assert numbers == [2, 3, 4, 5, 6, 7]
    assert count(db, TaskAssetDraft) == 7
