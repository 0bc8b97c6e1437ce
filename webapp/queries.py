"""Query helpers shared by the domain services: ownership checks and keyset pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from webapp.extensions import db


def get_owned(model: type, object_id: str, client_id: int | None) -> Any:
    """The row, or None when missing or owned by another client (when ``client_id`` given).

    Another client's row is indistinguishable from a missing one, so ids leak nothing."""
    row = db.session.get(model, object_id)
    if row is None or (client_id is not None and row.client_id != client_id):
        return None
    return row


def keyset_page(
    query: Select, column, *, after: Any = None, before: Any = None, limit: int, order: str = "desc"
) -> tuple[list, bool]:
    """One page ordered by ``column`` (a unique, time-sortable id): no OFFSET, so a deep page
    costs what the first one does. Returns (rows, has_more)."""
    descending = order == "desc"
    if after is not None:
        query = query.where(column < after if descending else column > after)
    if before is not None:
        query = query.where(column > before if descending else column < before)
    query = query.order_by(column.desc() if descending else column.asc()).limit(limit + 1)
    rows = list(db.session.scalars(query))
    return rows[:limit], len(rows) > limit
