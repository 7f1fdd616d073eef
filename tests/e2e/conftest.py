"""End-to-end tests run on every database and on both storage backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmpapi.server.settings import Settings
from tests.storage.conftest import moto_endpoint, s3_bucket, s3_settings

__all__ = ["moto_endpoint", "s3_bucket"]


@pytest.fixture(params=["local", "s3"])
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    """The shared settings, on the local directory store and on S3 (a moto server)."""
    worker = request.node.get_closest_marker("worker") is not None
    if request.param == "local":
        return Settings(data_dir=tmp_path, database_url=database_url, worker_embedded=worker)
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return s3_settings(
        tmp_path, endpoint, bucket, database_url=database_url, worker_embedded=worker
    )
