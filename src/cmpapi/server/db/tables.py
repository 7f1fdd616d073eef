"""Imports every table module so ``Base.metadata`` is complete (Alembic, tests).

Add each new ``tables.py`` here.
"""

from cmpapi.server.db.base import Base
from cmpapi.server.events import outbox
from cmpapi.server.identity import tables as identity
from cmpapi.server.oauth import tables as oauth

__all__ = ["Base", "identity", "oauth", "outbox"]
