"""Job kinds and their handlers: ``@job_handler("kind")`` registers a function.

A worker only claims jobs whose kind it has a handler for, so a worker started without some
handler module leaves those jobs queued for another worker instead of failing them.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from cmpapi.server.jobs.context import JobContext

HandlerFn = Callable[["JobContext", Any], Awaitable[None] | None]
F = TypeVar("F", bound=HandlerFn)

# Modules of the project that define handlers; every worker imports them at start (like
# ``db/tables.py`` for tables). Add each new handler module here.
HANDLER_MODULES: tuple[str, ...] = (
    "cmpapi.server.db.maintenance",
    "cmpapi.server.resources.library.counts",
    "cmpapi.server.resources.library.renditions",
    "cmpapi.server.resources.structured_content.managed_jobs",
    "cmpapi.server.resources.uploader.service",
    "cmpapi.server.webhooks.engine",
)


class RetryLater(Exception):
    """Raise from a handler to run the job again in ``seconds`` (counts as an attempt)."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {seconds:g} s")
        self.seconds = max(0.0, float(seconds))


class PermanentFailure(Exception):
    """Raise from a handler to fail the job at once, without further attempts."""


@dataclass(frozen=True)
class HandlerSpec:
    """A registered handler and how the worker runs it."""

    kind: str
    fn: HandlerFn
    is_async: bool
    timeout: float
    concurrency: int | None
    retry_schedule: tuple[float, ...] | None
    every: float | None


REGISTRY: dict[str, HandlerSpec] = {}


def job_handler(
    kind: str,
    *,
    timeout: float = 300.0,
    concurrency: int | None = None,
    retry_schedule: Sequence[float] | None = None,
    every: float | None = None,
) -> Callable[[F], F]:
    """Register ``fn(ctx, payload)`` (sync or async) as the handler of ``kind``.

    ``timeout``: seconds before the attempt counts as failed (async handlers are cancelled;
    a sync handler's thread cannot be interrupted and is abandoned). ``concurrency``: at most
    this many jobs of the kind at once per worker (default: the worker's concurrency).
    ``retry_schedule``: seconds before each retry, replacing the settings' schedule.
    ``every``: also enqueue one job of this kind (payload ``{}``) per ``every`` seconds.
    """

    def register(fn: F) -> F:
        existing = REGISTRY.get(kind)
        if existing is not None and _qualname(existing.fn) != _qualname(fn):
            raise ValueError(f"job kind {kind!r} already has a handler: {_qualname(existing.fn)}")
        REGISTRY[kind] = HandlerSpec(
            kind=kind,
            fn=fn,
            is_async=inspect.iscoroutinefunction(fn),
            timeout=timeout,
            concurrency=concurrency,
            retry_schedule=tuple(retry_schedule) if retry_schedule is not None else None,
            every=every,
        )
        return fn

    if not kind or len(kind) > 64:
        raise ValueError("job kind must be 1 to 64 characters")
    if concurrency is not None and concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    return register


def _qualname(fn: Callable[..., Any]) -> str:
    # Re-importing a module (a test, a reload) registers an equal function again: allowed.
    return f"{fn.__module__}.{fn.__qualname__}"


def import_handlers(extra: Iterable[str] = ()) -> dict[str, HandlerSpec]:
    """Import the project's handler modules and ``extra`` ones; returns the registry."""
    for name in (*HANDLER_MODULES, *extra):
        if name.strip():
            importlib.import_module(name.strip())
    return REGISTRY
