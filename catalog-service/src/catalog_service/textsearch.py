"""The text-search backend of a database (a strategy: FTS5 on SQLite, tsvector and pg_trgm on PostgreSQL), chosen
once per database: create_app builds its database's, the worker's first use builds its own."""

import weakref
from typing import Protocol

from sqlalchemy.orm import Session

from .catalog_sql import Shape
from .fts_postgres import PostgresTextSearch
from .fts_sqlite import SqliteTextSearch
from .models import Plugin


class TextSearch(Protocol):
    insert: object  # the dialect's INSERT, with on_conflict_do_update
    retries_fuzzy: bool  # whether words that match nothing are tried again as typos

    def reindex(self, session: Session, plugin: Plugin) -> None: ...

    def rebuild_vocabulary(self, session: Session) -> None: ...

    def page(self, session: Session, query: str, shape: Shape, params: dict, sort: str, order: str, page: int,
             limit: int) -> tuple[list, int]: ...

    def condition(self, session: Session, query: str, fuzzy: bool): ...


_BACKENDS: "weakref.WeakKeyDictionary[object, TextSearch]" = weakref.WeakKeyDictionary()


def text_search_for(bind) -> TextSearch:
    """The backend of an engine, a connection or a session's database, built on first use."""
    if isinstance(bind, Session):
        bind = bind.get_bind()
    engine = getattr(bind, "engine", bind)
    backend = _BACKENDS.get(engine)
    if backend is None:
        backend = _BACKENDS[engine] = SqliteTextSearch() if engine.dialect.name == "sqlite" else PostgresTextSearch()
    return backend


def reindex(session: Session, plugin: Plugin) -> None:
    """Keep the text index in step with the plugin (the services call this after each change of its texts)."""
    text_search_for(session).reindex(session, plugin)
