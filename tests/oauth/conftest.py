"""Fixtures of the OAuth tests."""

from __future__ import annotations

import httpx
import pytest

from tests.oauth.flow import Browser
from tests.support.world import World


@pytest.fixture
def browser(http: httpx.Client, world: World) -> Browser:
    """A browser-like helper for the world's app on the live server."""
    return Browser(http, world)
