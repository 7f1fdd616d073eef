"""cmpapi's own API under ``/ext/v1`` that the SDK uses: the organization's event stream
(server-sent events, what ``cmpapi listen`` forwards) and sample events (``cmpapi
trigger``). A cmpapi server only: the real CMP has neither."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from cmpapi.client._async._concurrency import sleep
from cmpapi.client._async._http import AsyncHTTP
from cmpapi.client.errors import APIConnectionError, CMPError, api_error

# A stream sends a comment every ~15 s; a read that waits four times as long means the
# connection is gone.
STREAM_TIMEOUT = httpx.Timeout(30.0, read=60.0)
RECONNECT_DELAY = 1.0


@dataclass(frozen=True)
class StreamedEvent:
    """One event of the stream: ``body`` is, byte for byte, what a webhook delivery of it
    carries; ``cursor`` resumes the stream after it."""

    cursor: str
    event_name: str
    webhook_id: str
    body: bytes


class AsyncExtensions:
    """cmpapi's own API (``/ext/v1``) as far as the SDK uses it."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http
        self._root = http.endpoints.base_url.removesuffix("/v3") + "/ext/v1"

    async def trigger_event(self, event_name: str) -> dict[str, Any]:
        """Record a sample ``event_name`` event (delivered to webhooks, sent on streams);
        the recorded event (``id``, ``event_name``, ``data``...)."""
        response = await self._http.request(
            "POST", f"{self._root}/events/trigger", json={"event_name": event_name}
        )
        body = response.json()
        if not isinstance(body, dict):
            raise CMPError("the trigger endpoint did not answer a JSON object")
        return body

    async def stream_events(
        self,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        event_names: Sequence[str] = (),
        reconnect: bool = True,
    ) -> AsyncIterator[StreamedEvent]:
        """The organization's events as they are recorded, from now (or after ``since``
        or ``cursor``). A dropped connection is reopened after the last event received,
        so none is missed or repeated (``reconnect=False`` raises instead)."""
        params: dict[str, Any] = {"event_name": list(event_names)}
        if since is not None:
            params["since"] = since.isoformat()
        while True:
            if cursor is not None:
                params = {"cursor": cursor, "event_name": list(event_names)}
            try:
                async for position, event in self._read(params):
                    cursor = position
                    if event is not None:
                        yield event
            except (httpx.TransportError, APIConnectionError):
                if not reconnect:
                    raise
            if not reconnect:
                return
            await sleep(RECONNECT_DELAY)

    async def _read(
        self, params: dict[str, Any]
    ) -> AsyncIterator[tuple[str, StreamedEvent | None]]:
        """The stream's messages as (cursor, event); the opening message has a cursor and
        no event (resuming from it misses nothing sent before the first event)."""
        headers = {"Authorization": await self._http.authorization()}
        url = f"{self._root}/events/stream"
        async with self._http.http.stream(
            "GET", url, params=params, headers=headers, timeout=STREAM_TIMEOUT
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                raise api_error(response)
            fields: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line:
                    if not line.startswith(":"):  # a comment: the keep-alive
                        name, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if name == "data" and "data" in fields:  # one field over lines
                            value = fields["data"] + "\n" + value
                        fields[name] = value
                    continue
                if "id" in fields:
                    event = None
                    if "data" in fields:
                        event = StreamedEvent(
                            cursor=fields["id"],
                            event_name=fields.get("event", "message"),
                            webhook_id=fields.get("webhook-id", ""),
                            body=fields["data"].encode(),
                        )
                    yield fields["id"], event
                fields = {}
