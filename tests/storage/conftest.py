"""Storage fixtures: a real S3 API (moto's server on a loopback port, one per session) and
a store fixture over both backends."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import botocore.session
import pytest
from moto.server import ThreadedMotoServer

from cmpapi.server.db.base import new_id
from cmpapi.server.settings import Settings
from cmpapi.server.storage import ObjectStore, make_store

S3_KEY = "testing"
S3_SECRET = "testing-secret"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of an in-process moto S3 server."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_client(endpoint: str) -> object:
    """A plain botocore client on the moto server (test-side checks)."""
    return botocore.session.get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
    )


@pytest.fixture
def s3_bucket(moto_endpoint: str) -> str:
    """A fresh, empty bucket for one test."""
    name = f"t-{new_id()}"
    s3_client(moto_endpoint).create_bucket(Bucket=name)  # type: ignore[attr-defined]
    return name


def s3_settings(data_dir: Path, endpoint: str, bucket: str, **extra: object) -> Settings:
    """Settings for the S3 backend on the moto server."""
    return Settings(
        data_dir=data_dir,
        storage_backend="s3",
        s3_bucket=bucket,
        s3_endpoint_url=endpoint,
        s3_access_key_id=S3_KEY,
        s3_secret_access_key=S3_SECRET,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["local", "s3"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of each backend."""
    if request.param == "local":
        return Settings(data_dir=tmp_path)
    endpoint = request.getfixturevalue("moto_endpoint")
    return s3_settings(tmp_path, endpoint, request.getfixturevalue("s3_bucket"))


@pytest.fixture
def store(store_settings: Settings) -> ObjectStore:
    """An object store on each backend."""
    return make_store(store_settings)
