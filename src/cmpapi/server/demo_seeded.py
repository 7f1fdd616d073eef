"""Whether a part of the demo data is there: the check every ``cmpapi serve --demo`` runs.

A Core ``SELECT 1`` by primary key, not ``session.get``: the first ORM load of a process
configures every mapper of the schema (~30 ms on the 2-core box), which a start on a seeded
data directory then paid before it could answer (issue 15). The first request pays it now.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, literal, select
from sqlalchemy.orm import Session

from cmpapi.server.db.base import Base


def seeded(session: Session, model: type[Base], id_: str) -> bool:
    """Whether ``model``'s table has the row ``id_`` (its one-column primary key)."""
    (key,) = cast(Table, model.__table__).primary_key.columns
    found = session.execute(select(literal(1)).where(key == id_).limit(1)).first()
    return found is not None
