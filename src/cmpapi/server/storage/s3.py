"""The S3-compatible backend. Clients talk to the bucket directly: presigned POST forms
(botocore), presigned part and download URLs (``sigv4.py``). Bytes the server itself moves go
through obstore.

obstore keeps multipart uploads internal, so the three control calls of a client-driven
multipart upload (create, list parts, complete/abort) go through a botocore client, in a
worker thread because botocore blocks.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import botocore.session
import obstore
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from obstore.store import S3Store

from cmpapi.server.settings import Settings
from cmpapi.server.storage.base import (
    Disposition,
    MultipartTarget,
    ObjectMeta,
    ObjectStore,
    content_disposition,
)
from cmpapi.server.storage.errors import (
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
    error_headline,
)
from cmpapi.server.storage.keys import validate_key
from cmpapi.server.storage.sigv4 import Credentials, presign_url

AWS_ENDPOINT = "https://s3.{region}.amazonaws.com"
_LIST_PAGE = 1000
SINGLE_COPY_LIMIT = 5 * 1024**3
# Failing fast when the store is away (docs/durability.md): a request gives up after
# CONNECT_TIMEOUT per attempt and RETRY_TIMEOUT in all, instead of obstore's 10 retries over
# up to 3 minutes and botocore's 60 s connect timeout. A refused connection fails in < 1 s.
# Read timeouts stay the clients' own (obstore 30 s per request, botocore 60 s per read): a
# long CompleteMultipartUpload or a large GET must not be cut short.
CONNECT_TIMEOUT = timedelta(seconds=3)
RETRY_TIMEOUT = timedelta(seconds=10)
MAX_RETRIES = 3
# An S3 answer in 4xx is about the request (a range past the end, a bad key); anything
# else obstore gives up on (no answer, a timeout, 5xx after retries) is the store's failure.
_CLIENT_ERROR = re.compile(r"non-2xx status code: 4\d\d")


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


class S3ObjectStore(ObjectStore):
    """Objects in ``Settings.s3_bucket`` on AWS or any S3-compatible service."""

    backend = "s3"

    def __init__(self, settings: Settings) -> None:
        if not settings.s3_bucket:
            raise ValueError("storage_backend 's3' needs s3_bucket")
        self.bucket = settings.s3_bucket
        endpoint = settings.s3_endpoint_url or AWS_ENDPOINT.format(region=settings.s3_region)
        virtual = settings.s3_addressing_style == "virtual"
        super().__init__(_obstore(settings, endpoint, virtual), settings)
        session = botocore.session.get_session()
        self.client = _botocore_client(session, settings)
        self._botocore_credentials = _credentials(session, settings)
        parts = urlsplit(endpoint)
        # Clients send Host without a default port, and the signature covers Host.
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # IPv6 literal
        if parts.port and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
            host = f"{host}:{parts.port}"
        if virtual:
            self.origin, self.path_prefix = f"{parts.scheme}://{self.bucket}.{host}", ""
        else:
            self.origin, self.path_prefix = f"{parts.scheme}://{host}", f"/{self.bucket}"

    def _credentials(self) -> Credentials:
        # Frozen per call: refreshable credentials (instance roles, STS) rotate.
        frozen = self._botocore_credentials.get_frozen_credentials()
        return Credentials(
            frozen.access_key, frozen.secret_key, self.settings.s3_region, frozen.token
        )

    def _presign(self, method: str, key: str, query: dict[str, str], ttl: int) -> str:
        return presign_url(
            self._credentials(),
            method=method,
            origin=self.origin,
            path=f"{self.path_prefix}/{validate_key(key)}",
            query=query,
            expires=ttl,
            now=datetime.now(UTC),
        )

    def failure(self, exc: Exception) -> StorageError | None:
        found = super().failure(exc)
        if found is not None or not isinstance(exc, obstore.exceptions.GenericError):
            return found
        return None if _CLIENT_ERROR.search(str(exc)) else StorageUnavailable(error_headline(exc))

    async def head(self, key: str) -> ObjectMeta | None:
        meta = await super().head(key)
        if meta is None:
            return None
        # HEAD again through get: obstore's head drops Content-Type, which S3 does keep.
        try:
            with self.guard():
                result = await obstore.get_async(self.inner, key, options={"head": True})
        except FileNotFoundError:
            return None
        content_type = result.attributes.get("Content-Type")
        return ObjectMeta(meta.key, meta.size, meta.etag, meta.last_modified, content_type)

    async def copy(self, src: str, dst: str) -> None:
        meta = await self.head(src)
        if meta is None:
            raise ObjectNotFound()
        if meta.size <= SINGLE_COPY_LIMIT:
            await super().copy(src, dst)
            return
        # CopyObject stops at 5 GiB; larger objects (multipart uploads) stream through us.
        # TODO(storage): UploadPartCopy would keep them server-side.
        await self.put_stream(dst, self.stream(src), content_type=meta.content_type)

    def download_url(
        self,
        key: str,
        *,
        filename: str,
        content_type: str,
        base_url: str,
        ttl: int | None = None,
        disposition: Disposition = "attachment",
    ) -> str:
        query = {
            "response-content-disposition": content_disposition(disposition, filename),
            "response-content-type": content_type,
        }
        return self._presign("GET", key, query, ttl or self.settings.download_url_ttl)

    def presigned_post(
        self, key: str, *, base_url: str, ttl: int | None = None, max_size: int | None = None
    ) -> tuple[str, dict[str, str]]:
        limit = max_size or self.settings.upload_max_size
        post = self.client.generate_presigned_post(
            self.bucket,
            validate_key(key),
            Conditions=[["content-length-range", 0, limit]],
            ExpiresIn=ttl or self.settings.upload_url_ttl,
        )
        fields: dict[str, str] = post["fields"]
        # The CMP's order (clients send the fields in the order received).
        order = ("key", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date")
        ordered = {name: fields[name] for name in order}
        if "x-amz-security-token" in fields:
            ordered["x-amz-security-token"] = fields["x-amz-security-token"]
        ordered["x-amz-signature"] = fields["x-amz-signature"]
        return post["url"], ordered

    def part_upload_url(
        self, target: MultipartTarget, part_number: int, *, size: int, base_url: str, ttl: int
    ) -> str:
        if target.backend_upload_id is None:
            raise ValueError("multipart upload was not created on S3")
        query = {"partNumber": str(part_number), "uploadId": target.backend_upload_id}
        return self._presign("PUT", target.key, query, ttl)

    async def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        method = getattr(self.client, operation)
        try:
            result: dict[str, Any] = await anyio.to_thread.run_sync(partial(method, **params))
        except (BotoConnectionError, HTTPClientError) as exc:  # no answer, timeouts
            raise StorageUnavailable(f"{operation}: {exc}") from exc
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
                raise StorageUnavailable(f"{operation}: {exc}") from exc
            raise
        return result

    async def create_multipart(self, key: str) -> str | None:
        result = await self._call(
            "create_multipart_upload", Bucket=self.bucket, Key=validate_key(key)
        )
        upload_id: str = result["UploadId"]
        return upload_id

    async def _parts(self, target: MultipartTarget) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": validate_key(target.key),
            "UploadId": target.backend_upload_id,
            "MaxParts": _LIST_PAGE,
        }
        while True:
            try:
                page = await self._call("list_parts", **params)
            except ClientError as exc:
                raise ObjectNotFound("The multipart upload is gone from the bucket") from exc
            parts += page.get("Parts", [])
            if not page.get("IsTruncated"):
                return parts
            params["PartNumberMarker"] = page["NextPartNumberMarker"]

    async def list_parts(self, target: MultipartTarget) -> dict[int, int]:
        return {p["PartNumber"]: p["Size"] for p in await self._parts(target)}

    async def complete_multipart(self, target: MultipartTarget, part_count: int) -> ObjectMeta:
        wanted = range(1, part_count + 1)
        etags = {p["PartNumber"]: p["ETag"] for p in await self._parts(target)}
        missing = [n for n in wanted if n not in etags]
        if missing:
            raise ObjectNotFound(f"Part {missing[0]} is missing")
        await self._call(
            "complete_multipart_upload",
            Bucket=self.bucket,
            Key=target.key,
            UploadId=target.backend_upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in wanted]},
        )
        meta = await self.head(target.key)
        if meta is None:
            raise ObjectNotFound("The assembled object is missing")
        return meta

    async def abort_multipart(self, target: MultipartTarget) -> None:
        if target.backend_upload_id is None:
            return
        try:
            await self._call(
                "abort_multipart_upload",
                Bucket=self.bucket,
                Key=validate_key(target.key),
                UploadId=target.backend_upload_id,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise

    async def close(self) -> None:
        self.client.close()


def _obstore(settings: Settings, endpoint: str, virtual: bool) -> S3Store:
    options: dict[str, Any] = {}
    if settings.s3_access_key_id:
        options["access_key_id"] = settings.s3_access_key_id
        options["secret_access_key"] = _secret(settings.s3_secret_access_key)
        if settings.s3_session_token:
            options["token"] = _secret(settings.s3_session_token)
    return S3Store(
        settings.s3_bucket,
        endpoint=endpoint,
        region=settings.s3_region,
        virtual_hosted_style_request=virtual,
        client_options={
            "allow_http": endpoint.startswith("http://"),
            "connect_timeout": CONNECT_TIMEOUT,
        },
        retry_config={"max_retries": MAX_RETRIES, "retry_timeout": RETRY_TIMEOUT},
        **options,
    )


def _credentials(session: Any, settings: Settings) -> Any:
    """Static credentials from the settings, else botocore's chain (env, profile, role)."""
    if settings.s3_access_key_id:
        return BotoCredentials(
            settings.s3_access_key_id,
            _secret(settings.s3_secret_access_key),
            _secret(settings.s3_session_token),
        )
    resolved = session.get_credentials()
    if resolved is None:
        raise ValueError("storage_backend 's3' found no credentials")
    return resolved


def _botocore_client(session: Any, settings: Settings) -> Any:
    return session.create_client(
        "s3",
        region_name=settings.s3_region,
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=_secret(settings.s3_secret_access_key),
        aws_session_token=_secret(settings.s3_session_token),
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": settings.s3_addressing_style},
            max_pool_connections=10,
            connect_timeout=CONNECT_TIMEOUT.total_seconds(),
            retries={"mode": "standard", "max_attempts": MAX_RETRIES},
        ),
    )
