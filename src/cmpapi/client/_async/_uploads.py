"""Uploads: a file goes to storage by presigned POST (small) or multipart upload (large,
parts in parallel, resumable), and its key comes back for createAsset and the other
consumers of upload keys. ``library.upload_asset`` does both steps.

The bytes go straight to the presigned URLs, without the API token, read from the file a
chunk at a time as they are sent.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx

from cmpapi import wire
from cmpapi.client import _retry
from cmpapi.client._async import operations
from cmpapi.client._async._concurrency import run_limited, sleep
from cmpapi.client._async._http import AsyncHTTP
from cmpapi.client._models import dump, parse
from cmpapi.client.errors import APIConnectionError, APITimeoutError, NotFoundError
from cmpapi.client.uploads import (
    MAX_POST_SIZE,
    MULTIPART_THRESHOLD,
    Attempt,
    FormBody,
    Meter,
    MultipartJob,
    MultipartState,
    ResumeStore,
    Source,
    StorageError,
    UploadError,
    UploadFile,
    UploadProgress,
    choose_part_size,
    part_span,
    source_name,
    storage_error,
)

Status = wire.GetMultipartUploadStatusResponseStatus
# How long the server may take to assemble the parts (S3 copies them server-side).
COMPLETION_TIMEOUT = 3600.0
# A journal whose upload expires sooner than this is not worth resuming.
EXPIRY_MARGIN = timedelta(minutes=5)
# Answers of a part URL meaning the upload is gone (expired, aborted, unknown to storage).
GONE = frozenset({403, 404})


class AsyncUploads:
    """File uploads (``client.uploads``; ``client.upload`` is :meth:`upload`)."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http
        self._uploader = operations.Uploader(http)

    async def upload(
        self,
        source: Source,
        *,
        filename: str | None = None,
        progress: UploadProgress | None = None,
        part_size: int | None = None,
        concurrency: int = 4,
        resume: ResumeStore | None = None,
        multipart_threshold: int = MULTIPART_THRESHOLD,
    ) -> str:
        """Upload ``source`` (a path, or a binary file object from its current position);
        return its upload key (for ``create_asset``, attachments, asset versions...).

        Below ``multipart_threshold`` bytes one presigned POST carries the file; from it on,
        a multipart upload sends parts of ``part_size`` bytes (default: 8 MiB, larger when
        10,000 parts would not hold the file) ``concurrency`` at a time. ``progress(done,
        total)`` follows the bytes as they go out. With ``resume`` (an
        :class:`~cmpapi.client.uploads.UploadJournal`), a multipart upload interrupted
        before (killed, network down) goes on with the parts it lacks when the same file
        (path, size and modification time) is uploaded again to the same server.
        """
        with UploadFile(source, filename) as file:
            meter = Meter(progress, file.size)
            if file.size < max(multipart_threshold, 1) and file.size <= MAX_POST_SIZE:
                return await self._post(file, meter)
            key = file.resume_key(self._http.endpoints.base_url) if resume else None
            job = MultipartJob(file, meter, part_size, concurrency, resume, key)
            if part_size is not None:
                choose_part_size(file.size, part_size)  # a wrong size fails before any request
            return await self._multipart(job)

    # -- presigned POST --------------------------------------------------------------------

    async def _post(self, file: UploadFile, meter: Meter) -> str:
        response = await self._http.request("GET", "/upload-url")
        form = parse(wire.GetUploadUrlResponse, response)
        # The fields in the order received (the model's order is the spec's, not the wire's).
        fields = {str(k): str(v) for k, v in response.json()["upload_meta_fields"].items()}
        body = FormBody.build(fields, file.name, file.content_type)
        headers = {
            "Content-Type": body.content_type,
            "Content-Length": str(body.length(file.size)),
        }
        chunks = partial(_stream, file, 0, file.size, head=body.head, tail=body.tail)
        await self._to_storage("POST", form.url, headers, chunks, meter)
        return str(form.upload_meta_fields.key)

    # -- multipart upload ------------------------------------------------------------------

    async def _multipart(self, job: MultipartJob) -> str:
        state = await self._resumable(job)
        if state is not None:
            try:
                await self._send_parts(job, state)
            except StorageError as exc:
                if exc.status not in GONE:
                    raise
                state = None  # the storage no longer takes its parts: start over
        if state is None:
            state = await self._create(job)
            await self._send_parts(job, state)
        try:
            key = await self._complete(state.upload_id)
        except UploadError:
            job.forget()  # the server could not assemble the parts: the next call starts over
            raise
        job.forget()
        return key

    async def _resumable(self, job: MultipartJob) -> MultipartState | None:
        """The journal's upload of this file, if the server still takes its parts."""
        if job.resume is None or job.key is None:
            return None
        state = job.resume.load(job.key)
        if state is None:
            return None
        usable = (
            state.file_size == job.file.size
            and job.part_size in (None, state.part_size)
            and state.expires_at > datetime.now(UTC) + EXPIRY_MARGIN
        )
        if usable:
            try:
                answer = await self._uploader.get_multipart_upload_status(state.upload_id)
                status = answer.status
            except NotFoundError:
                status = Status.UPLOAD_COMPLETION_FAILED
            usable = status != Status.UPLOAD_COMPLETION_FAILED
            if status in (Status.UPLOAD_COMPLETION_IN_PROGRESS, Status.UPLOAD_COMPLETION_SUCCEEDED):
                state.done = set(range(1, len(state.part_urls) + 1))  # killed while completing
        if not usable:
            job.forget()
            return None
        job.meter.add(job.done_bytes(state))
        return state

    async def _create(self, job: MultipartJob) -> MultipartState:
        part_size = choose_part_size(job.file.size, job.part_size)
        body = dump(
            wire.CreateMultipartUploadRequest, {"file_size": job.file.size, "part_size": part_size}
        )
        response = await self._http.request("POST", "/multipart-uploads", json=body)
        created = parse(wire.CreateMultipartUploadResponse, response)
        # The URLs exactly as sent: they are signed, and a parsed URL may be re-encoded.
        urls = [str(url) for url in response.json()["upload_part_urls"]]
        if len(urls) != -(-job.file.size // part_size):
            raise UploadError(f"the server planned {len(urls)} parts for {job.file.size} bytes")
        state = MultipartState(created.id, job.file.size, part_size, urls, created.expires_at)
        job.begin(state)
        job.meter.add(-job.meter.done)  # a resumed upload started over
        return state

    async def _send_parts(self, job: MultipartJob, state: MultipartState) -> None:
        calls = [partial(self._send_part, job, state, number) for number in state.missing()]
        await run_limited(calls, job.concurrency)

    async def _send_part(self, job: MultipartJob, state: MultipartState, number: int) -> None:
        offset, length = part_span(number, state.part_size, state.file_size)
        chunks = partial(_stream, job.file, offset, length)
        headers = {"Content-Length": str(length)}
        await self._to_storage("PUT", state.part_urls[number - 1], headers, chunks, job.meter)
        job.part_done(state, number)

    async def _complete(self, upload_id: str) -> str:
        """Ask for the assembly and wait for its outcome (backing off up to 5 s a poll)."""
        await self._uploader.complete_multipart_upload(upload_id)
        deadline = time.monotonic() + COMPLETION_TIMEOUT
        pause = 0.2
        while True:
            status = await self._uploader.get_multipart_upload_status(upload_id)
            if status.status == Status.UPLOAD_COMPLETION_SUCCEEDED:
                return str(status.key)
            if status.status == Status.UPLOAD_COMPLETION_FAILED:
                reason = status.status_message or "no reason given"
                raise UploadError(f"the server could not assemble the upload: {reason}")
            if time.monotonic() >= deadline:
                raise UploadError(f"the upload was not assembled in {COMPLETION_TIMEOUT:.0f} s")
            await sleep(pause)
            pause = min(pause * 1.5, 5.0)

    # -- sending ---------------------------------------------------------------------------

    async def _to_storage(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        chunks: Callable[[Attempt], AsyncIterator[bytes]],
        meter: Meter,
    ) -> httpx.Response:
        """Send a body to a presigned URL (no token), retrying broken connections, 429 and
        5xx with the client's backoff: a part PUT is idempotent and a form POST to the same
        key replaces what an earlier one stored."""
        policy = self._http.retry
        attempt = 0
        while True:
            sending = Attempt(meter)
            try:
                response = await self._http.http.request(
                    method, url, content=chunks(sending), headers=headers
                )
            except httpx.TransportError as exc:
                sending.take_back()
                if attempt >= policy.max_retries:
                    raise _connection_error(exc) from exc
                await sleep(_retry.delay(policy, attempt))
            else:
                if response.status_code < 300:
                    return response
                sending.take_back()
                if attempt >= policy.max_retries or not _retry.retryable_status(
                    "PUT", response.status_code
                ):
                    raise storage_error(response)
                await sleep(_retry.delay(policy, attempt, response.headers.get("retry-after")))
            attempt += 1


async def _stream(
    file: UploadFile,
    offset: int,
    length: int,
    sending: Attempt,
    *,
    head: bytes = b"",
    tail: bytes = b"",
) -> AsyncIterator[bytes]:
    """A request body: ``head``, ``length`` bytes of the file from ``offset`` (each chunk
    read when the previous one has been sent), ``tail``."""
    if head:
        yield head
    for chunk in file.chunks(offset, length):
        yield chunk
        sending.count(len(chunk))
    if tail:
        yield tail


def _connection_error(exc: httpx.TransportError) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"the storage did not answer in time: {exc}")
    return APIConnectionError(f"the connection to the storage failed: {exc}")


class AsyncLibrary(operations.Library):
    """The spec's "Library" operations, and :meth:`upload_asset`."""

    def __init__(self, http: AsyncHTTP, uploads: AsyncUploads) -> None:
        super().__init__(http)
        self._uploads = uploads

    async def upload_asset(
        self,
        source: Source,
        *,
        folder_id: str | None = None,
        title: str | None = None,
        filename: str | None = None,
        progress: UploadProgress | None = None,
        part_size: int | None = None,
        concurrency: int = 4,
        resume: ResumeStore | None = None,
        multipart_threshold: int = MULTIPART_THRESHOLD,
    ) -> wire.AssetResponse:
        """Upload ``source`` (see :meth:`AsyncUploads.upload` for the upload options) and
        create a library asset of it (``createAsset``) in ``folder_id`` (default: the
        library's root), titled ``title`` (default: the file's name, cut at 100
        characters). Returns the new asset."""
        key = await self._uploads.upload(
            source,
            filename=filename,
            progress=progress,
            part_size=part_size,
            concurrency=concurrency,
            resume=resume,
            multipart_threshold=multipart_threshold,
        )
        body: dict[str, str] = {"key": key, "title": title or source_name(source, filename)[:100]}
        if folder_id is not None:
            body["folder_id"] = folder_id
        return await self.create_asset(body=body)
