"""Imports every table module so ``Base.metadata`` is complete (Alembic, tests).

Add each new ``tables.py`` here.
"""

from cmpapi.server.db.base import Base
from cmpapi.server.events import outbox
from cmpapi.server.identity import tables as identity
from cmpapi.server.oauth import tables as oauth
from cmpapi.server.resources.library import tables as library

__all__ = ["Base", "identity", "library", "oauth", "outbox"]
