"""docs/deploying.md names every setting, and only settings: the page is where an operator
looks for them, so a new field of Settings without a line there fails here."""

from __future__ import annotations

import re
from pathlib import Path

from cmpapi.server.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploying.md"


def test_every_setting_is_in_deploying_md() -> None:
    named = set(re.findall(r"CMPAPI_([A-Z0-9_]+)", DOC.read_text(encoding="utf-8")))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - named == set(), "settings missing from docs/deploying.md"
    assert named - fields == set(), "docs/deploying.md names settings that do not exist"
