"""Storyboards: scenes created as one transaction, status derived from the scenes."""

from __future__ import annotations

from sqlalchemy import select

from webapp.extensions import db
from webapp.storyboards.models import Storyboard


def get_storyboard(storyboard_id: str, *, client_id: int | None = None) -> Storyboard | None:
    board = db.session.get(Storyboard, storyboard_id)
    if board is None or (client_id is not None and board.client_id != client_id):
        return None
    return board


def list_recent(*, client_id: int | None = None, limit: int = 50) -> list[Storyboard]:
    query = select(Storyboard).order_by(Storyboard.id.desc()).limit(limit)
    if client_id is not None:
        query = query.where(Storyboard.client_id == client_id)
    return list(db.session.scalars(query))
