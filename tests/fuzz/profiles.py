"""The two fuzzing profiles. ``CMPAPI_FUZZ_PROFILE`` selects one (``bounded`` by default).

* ``bounded`` runs inside the normal suite (``scripts/test``, about a minute and a half on
  two cores for both backends): the spec's examples, schemathesis' coverage phase (boundary
  and invalid values of every parameter, a fixed list) and 10 generated examples per
  operation, each sent to both backends, derandomized with a fixed seed: CI sends the same
  requests on every run.
* ``long`` (``scripts/fuzz``): the same with 100 generated examples per operation, then
  500 stateful scenarios over the links schemathesis infers (the spec declares none).
  Seeded too; ``CMPAPI_FUZZ_SEED`` changes the seed, ``CMPAPI_FUZZ_EXAMPLES`` the
  generated examples per operation.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import schemathesis

DEFAULT_SEED = 20261101


@dataclass(frozen=True)
class Profile:
    name: str
    max_examples: int
    coverage: bool
    stateful: bool
    stateful_steps: int = 0
    stateful_scenarios: int = 0
    seed: int = DEFAULT_SEED

    def config(self, deep: Iterable[str] = ()) -> schemathesis.Config:
        """The schemathesis configuration of this profile. ``deep``: operationIds whose
        bodies nest the structured-content value and definition unions; the coverage phase
        of the bounded profile leaves them out (it spent 6-23 s on each of them, half the
        suite's fuzzing time; their examples and generated cases still run, and the long
        profile covers them)."""
        generation: dict[str, Any] = {
            "mode": "all",  # valid and invalid data
            "max-examples": self.max_examples,
            "deterministic": True,
            "database": "none",  # no .hypothesis directory, no replays across runs
            "allow-x00": True,
        }
        skip_coverage = sorted(deep) if self.name == "bounded" else []
        operations = [
            {"include-operation-id": op, "phases": {"coverage": {"enabled": False}}}
            for op in skip_coverage
        ]
        return schemathesis.Config.from_dict(
            {
                "seed": self.seed,
                "operations": operations,
                "suppress-health-check": ["all"],
                "generation": generation,
                "phases": {
                    "examples": {"enabled": True},
                    "coverage": {"enabled": self.coverage, "unexpected-methods": []},
                    "fuzzing": {"enabled": True},
                    "stateful": {
                        "enabled": self.stateful,
                        "max-steps": max(self.stateful_steps, 2),
                    },
                },
            }
        )


PROFILES = {
    "bounded": Profile("bounded", max_examples=10, coverage=True, stateful=False),
    "long": Profile(
        "long",
        max_examples=100,
        coverage=True,
        stateful=True,
        stateful_steps=12,
        stateful_scenarios=500,
    ),
}


def selected() -> Profile:
    """The profile named by ``CMPAPI_FUZZ_PROFILE`` (with the seed/examples overrides)."""
    name = os.environ.get("CMPAPI_FUZZ_PROFILE", "bounded")
    if name not in PROFILES:
        raise ValueError(f"CMPAPI_FUZZ_PROFILE={name!r}: expected one of {', '.join(PROFILES)}")
    profile = PROFILES[name]
    overrides: dict[str, Any] = {}
    if os.environ.get("CMPAPI_FUZZ_SEED"):
        overrides["seed"] = int(os.environ["CMPAPI_FUZZ_SEED"])
    if os.environ.get("CMPAPI_FUZZ_EXAMPLES"):
        overrides["max_examples"] = int(os.environ["CMPAPI_FUZZ_EXAMPLES"])
    return Profile(**{**profile.__dict__, **overrides}) if overrides else profile
