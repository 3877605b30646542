"""Which store the assistant reads: the index files on disk (the default), or PostgreSQL
with pgvector when `Settings.database_url` is set. Both give the same `IndexData`, whose
`store` answers searches (see `assistant.search.stores.Store`)."""

from __future__ import annotations

from assistant.config import Settings
from assistant.search.index import IndexData, current_build, load_index


def current_version(settings: Settings) -> str | None:
    """The name of the index version in use (changes when an ingest switches one in)."""
    if settings.database_url:
        from assistant.search.pgstore import current_version as pg_version

        return pg_version(settings)
    build = current_build(settings.index_dir)
    return build.name if build is not None else None


def load_data(settings: Settings) -> IndexData:
    """Load the index version in use from the selected store."""
    if settings.database_url:
        from assistant.search.pgstore import load_pg_index

        return load_pg_index(settings)
    return load_index(settings)
