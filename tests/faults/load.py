"""Write load for fault scenarios: threads creating milestones over real HTTP, every answer
recorded, then checked against the database (no acknowledged write lost)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, text

CREATE = "/v3/milestones"


def milestone(title: str) -> dict[str, Any]:
    return {"title": title, "due_date": "2030-03-31T17:00:00+02:00", "hex_color": "#4ecfd5"}


@dataclass(frozen=True, slots=True)
class Reply:
    """One request: when it ran (monotonic seconds), and what came back."""

    started: float
    finished: float
    status: int  # 0: no HTTP answer at all (``error`` says why)
    title: str
    id: str | None = None
    retry_after: str | None = None
    body: Any = None
    error: str | None = None

    @property
    def seconds(self) -> float:
        return self.finished - self.started


@dataclass
class WriteLoad:
    """``threads`` clients POSTing createMilestone back to back until ``stop``."""

    base_url: str
    headers: dict[str, str]
    threads: int = 8
    timeout: float = 30
    replies: list[Reply] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for n in range(self.threads):
            worker = threading.Thread(target=self._run, args=(n,), daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> list[Reply]:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=self.timeout + 5)
        return sorted(self.replies, key=lambda r: r.started)

    def _run(self, n: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=self.timeout) as client:
            i = 0
            while not self._stop.is_set():
                i += 1
                reply = send(client, self.headers, f"load-{n}-{i}")
                with self._lock:
                    self.replies.append(reply)


def send(client: httpx.Client, headers: dict[str, str], title: str) -> Reply:
    """One createMilestone."""
    started = time.monotonic()
    try:
        r = client.post(CREATE, json=milestone(title), headers=headers)
    except httpx.HTTPError as exc:
        return Reply(started, time.monotonic(), 0, title, error=repr(exc))
    try:
        body = r.json()
    except ValueError:
        body = r.text
    created = body.get("id") if r.status_code == 201 and isinstance(body, dict) else None
    retry = r.headers.get("retry-after")
    return Reply(started, time.monotonic(), r.status_code, title, created, retry, body)


def is_cmp_503(reply: Reply) -> bool:
    """A 503 in the CMP error shape, with a Retry-After and a message that leaks nothing."""
    body = reply.body
    return (
        reply.status == 503
        and isinstance(body, dict)
        and set(body) == {"message"}
        and isinstance(body["message"], str)
        and not any(w in body["message"].lower() for w in ("psycopg", "sql", "connection"))
        and reply.retry_after is not None
        and reply.retry_after.isdigit()
    )


def lost_writes(database_url: str, replies: list[Reply]) -> list[str]:
    """Ids answered 201 that the database does not have."""
    acknowledged = [r.id for r in replies if r.status == 201 and r.id]
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            found = {row[0] for row in conn.execute(text("SELECT id FROM milestones"))}
    finally:
        engine.dispose()
    return [i for i in acknowledged if i not in found]


def stored_count(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM milestones")).scalar_one())
    finally:
        engine.dispose()


def summary(replies: list[Reply], fault_at: float, back_at: float) -> dict[str, Any]:
    """What the clients saw around a fault injected at ``fault_at`` (monotonic) that was
    over (the service reachable again) at ``back_at``."""
    failures = [r for r in replies if r.status != 201]
    overlapping = [r for r in replies if r.finished >= fault_at and r.started <= back_at]
    after = [r for r in replies if r.status == 201 and r.started >= back_at]
    first_ok_after = min((r.finished for r in after), default=None)
    last_failure = max((r.finished for r in failures), default=None)
    return {
        "requests": len(replies),
        "statuses": dict(sorted(Counter(r.status for r in replies).items())),
        "during_fault": dict(sorted(Counter(r.status for r in overlapping).items())),
        "no_answer": [r.error for r in replies if r.status == 0][:3],
        "bad_503": [r.body for r in replies if r.status == 503 and not is_cmp_503(r)][:3],
        "other_errors": [(r.status, r.body) for r in failures if r.status not in (0, 503)][:3],
        "max_latency_s": round(max((r.seconds for r in replies), default=0.0), 3),
        "max_503_latency_s": round(
            max((r.seconds for r in replies if r.status == 503), default=0.0), 3
        ),
        "fault_s": round(back_at - fault_at, 3),
        "first_201_after_back_s": (
            round(first_ok_after - back_at, 3) if first_ok_after is not None else None
        ),
        "failures_after_back": sum(1 for r in failures if r.started >= back_at + 0.001),
        "last_failure_after_back_s": (
            round(last_failure - back_at, 3) if last_failure is not None else None
        ),
    }
