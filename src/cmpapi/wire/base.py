"""The base classes of the generated wire models (``scripts/gen_wire.py`` makes every model
inherit one of them).

``defer_build``: pydantic builds a model's validator and serializer on its first use, not
when the class statement runs. The server imports ~700 wire models and a start uses a few
dozen of them, so building them all at import made ``cmpapi serve`` slow to answer for
nothing (issue 15).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, RootModel

RootType = TypeVar("RootType")


class WireModel(BaseModel):
    """A wire object; built on first use."""

    model_config = ConfigDict(defer_build=True)


class WireRootModel(RootModel[RootType], Generic[RootType]):
    """A wire value that is not an object (a list, a union, a constrained string); built on
    first use."""

    model_config = ConfigDict(defer_build=True)
