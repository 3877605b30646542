"""PostgreSQL with pgvector as the shared store, selected by `Settings.database_url`.

Each ingest publishes a new *build*: its documents, provisions and arrays in the
`assistant_*` tables, and its passages (text, metadata, vector) in a table of their own
managed by llama-index's `PGVectorStore` (an HNSW index on the vectors, and a generated
`tsvector` column with a GIN index for full-text search). The build is switched in by
one transaction that points `assistant_current` at it, so readers never see half a build,
and app servers notice the new build on their next version check (no restart). The
previous build is kept for readers still on it; older ones are dropped.

Schema changes are numbered migrations (`MIGRATIONS`), applied in order under an
advisory lock and recorded in `assistant_schema_migrations`.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import time
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.errors import AssistantError, IndexMissingError, IngestError, StoreUnavailableError
from assistant.index import IndexData, embed_text
from assistant.types import ConsultationQuestion, Document, Objective, Passage

logger = logging.getLogger(__name__)

# pgvector HNSW parameters: m and ef_construction as pgvector's defaults; ef_search is
# raised per query to at least the number of candidates asked for.
_HNSW = {"hnsw_m": 16, "hnsw_ef_construction": 64, "hnsw_ef_search": 100,
         "hnsw_dist_method": "vector_cosine_ops"}
_EF_SEARCH_MAX = 1000  # pgvector's upper bound
_INGEST_LOCK = 0x6173_7369  # advisory lock key held by one publishing ingest at a time
_MIGRATE_LOCK = 0x6173_736D
_ARRAYS = ("passage_vectors", "sentence_vectors", "sentence_offsets", "objective_vectors",
           "heading_vectors")

MIGRATIONS: list[str] = [
    # 1: builds, the pointer to the one in use, and each build's documents and provisions
    """
    CREATE EXTENSION IF NOT EXISTS vector;
    CREATE TABLE assistant_builds (
        build_id bigserial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        state text NOT NULL DEFAULT 'building' CHECK (state IN ('building', 'live')),
        manifest jsonb NOT NULL);
    CREATE TABLE assistant_current (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        build_id bigint NOT NULL REFERENCES assistant_builds,
        switched_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE assistant_documents (
        build_id bigint NOT NULL REFERENCES assistant_builds ON DELETE CASCADE,
        doc_id text NOT NULL,
        meta jsonb NOT NULL,
        text text NOT NULL,
        PRIMARY KEY (build_id, doc_id));
    CREATE TABLE assistant_provisions (
        build_id bigint NOT NULL REFERENCES assistant_builds ON DELETE CASCADE,
        position int NOT NULL,
        kind text NOT NULL,
        doc_id text NOT NULL,
        data jsonb NOT NULL,
        PRIMARY KEY (build_id, kind, position));
    CREATE TABLE assistant_arrays (
        build_id bigint NOT NULL REFERENCES assistant_builds ON DELETE CASCADE,
        name text NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (build_id, name));
    """,
]


def _sqlalchemy_url(url: str, driver: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return f"postgresql+{driver}://" + url[len(prefix):]
    return url


@functools.cache
def engine(url: str):
    """One SQLAlchemy engine (psycopg2, as PGVectorStore needs) per database URL, shared
    by the process; its connections are checked before use, so a restarted server is
    reconnected to."""
    from sqlalchemy import create_engine

    return create_engine(_sqlalchemy_url(url, "psycopg2"), pool_pre_ping=True,
                         pool_size=5, max_overflow=10, pool_timeout=10,
                         # a filtered HNSW search scans on until it has k matches
                         connect_args={"connect_timeout": 5,
                                       "options": "-c hnsw.iterative_scan=strict_order"})


@functools.cache
def async_engine(url: str):
    """The async engine PGVectorStore also wants (asyncpg); it connects only if used."""
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(_sqlalchemy_url(url, "asyncpg"), pool_pre_ping=True)


def migrate(url: str) -> int:
    """Apply the migrations not yet applied; return the schema version."""
    from sqlalchemy import text

    with engine(url).begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATE_LOCK})
        conn.execute(text("CREATE TABLE IF NOT EXISTS assistant_schema_migrations ("
                          "version int PRIMARY KEY, applied_at timestamptz DEFAULT now())"))
        done = {r[0] for r in conn.execute(text(
            "SELECT version FROM assistant_schema_migrations"))}
        for version, sql in enumerate(MIGRATIONS, start=1):
            if version in done:
                continue
            conn.exec_driver_sql(sql)
            conn.execute(text("INSERT INTO assistant_schema_migrations (version) "
                              "VALUES (:v)"), {"v": version})
            logger.info("database schema migrated to version %d", version)
    return len(MIGRATIONS)


def _vector_table(build_id: int) -> str:
    return f"passages_{build_id}"  # PGVectorStore names the table data_passages_<id>


def vector_store(url: str, build_id: int, dim: int, setup: bool = False,
                 index_kind: str = "hnsw"):
    """llama-index's PGVectorStore over one build's passages (hybrid: vectors + tsvector),
    with an HNSW index on the vectors unless `index_kind` is "exact"."""
    from llama_index.vector_stores.postgres import PGVectorStore

    if index_kind not in ("hnsw", "exact"):
        raise AssistantError(f"Unknown pg_vector_index {index_kind!r}; use hnsw or exact.")
    return PGVectorStore(
        connection_string=_sqlalchemy_url(url, "psycopg2"),
        async_connection_string=_sqlalchemy_url(url, "asyncpg"),
        engine=engine(url), async_engine=async_engine(url),
        table_name=_vector_table(build_id), embed_dim=dim,
        hybrid_search=True, text_search_config="english", use_jsonb=True,
        hnsw_kwargs=dict(_HNSW) if index_kind == "hnsw" else None,
        indexed_metadata_keys={("doc_id", "text")},
        perform_setup=setup, initialization_fail_on_error=True)


# ---------------------------------------------------------------------------- search


class PgStore:
    """The Store (see `assistant.stores.Store`) over one build in PostgreSQL: dense search
    by pgvector's HNSW index, lexical search by PostgreSQL full-text search (`ts_rank`
    over an OR of the query's stemmed terms), both through llama-index's PGVectorStore
    with the document filter as MetadataFilters, applied in SQL."""

    def __init__(self, url: str, build_id: int, dim: int, index_kind: str = "hnsw") -> None:
        self.store = vector_store(url, build_id, dim, index_kind=index_kind)
        self.hnsw = index_kind == "hnsw"

    def search(self, *, vector: np.ndarray | None = None, terms: str | None = None,
               k: int = 10, filters: dict[str, list[str]] | None = None
               ) -> list[tuple[str, float]]:
        from llama_index.core.vector_stores.types import (
            FilterOperator,
            MetadataFilter,
            MetadataFilters,
            VectorStoreQuery,
            VectorStoreQueryMode,
        )

        docs = (filters or {}).get("doc_id")
        where = (MetadataFilters(filters=[MetadataFilter(key="doc_id", value=list(docs),
                                                         operator=FilterOperator.IN)])
                 if docs else None)
        if vector is not None:
            query = VectorStoreQuery(query_embedding=np.asarray(vector).tolist(),
                                     similarity_top_k=k, filters=where)
            ef = min(_EF_SEARCH_MAX, max(_HNSW["hnsw_ef_search"], 2 * k))
            result = self.store.query(query, **({"hnsw_ef_search": ef} if self.hnsw else {}))
        elif terms is not None:
            query = VectorStoreQuery(query_str=terms, sparse_top_k=k, similarity_top_k=k,
                                     mode=VectorStoreQueryMode.TEXT_SEARCH, filters=where)
            result = self.store.query(query)
        else:
            raise ValueError("search needs a vector or terms")
        return [(i, float(s)) for i, s in zip(result.ids, result.similarities, strict=True)]


# ---------------------------------------------------------------------------- read


def current_version(settings: Settings) -> str | None:
    """The name of the build in use, or None if none has been published."""
    from sqlalchemy import text

    with engine(settings.database_url).connect() as conn:
        try:
            row = conn.execute(text(
                "SELECT b.name FROM assistant_current c JOIN assistant_builds b "
                "USING (build_id)")).first()
        except Exception as exc:
            if "assistant_current" in str(exc):  # not migrated yet: nothing published
                return None
            raise
    return row[0] if row else None


def load_pg_index(settings: Settings) -> IndexData:
    """Load the build in use from PostgreSQL, read in one snapshot (REPEATABLE READ), so
    a build switched in meanwhile is never mixed with the one being read."""
    from sqlalchemy import text

    url = settings.database_url
    try:
        with engine(url).connect().execution_options(
                isolation_level="REPEATABLE READ") as conn, conn.begin():
            row = conn.execute(text(
                "SELECT b.build_id, b.manifest FROM assistant_current c "
                "JOIN assistant_builds b USING (build_id)")).first()
            if row is None:
                raise IndexMissingError("No index has been published to the database; "
                                        "run `assistant ingest` to build it.")
            build_id, manifest = row
            data = _read_build(conn, build_id)
    except IndexMissingError:
        raise
    except Exception as exc:
        if "assistant_current" in str(exc):
            raise IndexMissingError("The database holds no index yet; run `assistant "
                                    "ingest` to build it.") from exc
        if _is_db_error(exc):
            raise StoreUnavailableError(f"The database is unavailable: {exc}") from exc
        raise
    index = IndexData(manifest=manifest, vector_store=None, bm25=None,
                      path=Path(f"postgresql:{manifest.get('name', build_id)}"), **data)
    index.store = PgStore(url, build_id, int(manifest["dimension"]),
                          manifest.get("pg_vector_index", "hnsw"))
    return index


def _is_db_error(exc: Exception) -> bool:
    return any(c.__module__.split(".")[0] in {"sqlalchemy", "psycopg", "psycopg2"}
               for c in type(exc).__mro__)


def _read_build(conn, build_id: int) -> dict:
    from sqlalchemy import text

    docs = {}
    for doc_id, meta, body in conn.execute(text(
            "SELECT doc_id, meta, text FROM assistant_documents WHERE build_id = :b"),
            {"b": build_id}):
        meta = dict(meta)
        meta["page_points"] = [tuple(x) for x in meta.get("page_points", [])]
        docs[doc_id] = Document(**meta, text=body)
    table = "data_" + _vector_table(build_id)
    passages = [Passage.from_dict(m["passage"]) for (m,) in conn.execute(text(
        f"SELECT metadata_ FROM {table} ORDER BY (metadata_->>'row')::int"))]
    provisions: dict[str, list] = {"objective": [], "question": []}
    for kind, data in conn.execute(text(
            "SELECT kind, data FROM assistant_provisions WHERE build_id = :b "
            "ORDER BY kind, position"), {"b": build_id}):
        provisions[kind].append(data)
    arrays = {name: np.load(io.BytesIO(blob)) for name, blob in conn.execute(text(
        "SELECT name, data FROM assistant_arrays WHERE build_id = :b"), {"b": build_id})}
    return {"documents": docs, "passages": passages,
            "objectives": [Objective(**o) for o in provisions["objective"]],
            "questions": [ConsultationQuestion(**q) for q in provisions["question"]],
            **{name: arrays[name] for name in _ARRAYS}}


# ---------------------------------------------------------------------------- publish


def publish(settings: Settings, index: IndexData) -> str:
    """Copy a loaded build into PostgreSQL as a new build and switch it in atomically;
    return its name. One publishing ingest at a time (IngestError for a second one)."""
    from sqlalchemy import text

    url = settings.database_url
    migrate(url)
    with engine(url).connect() as lock:
        if not lock.execute(text("SELECT pg_try_advisory_lock(:k)"),
                            {"k": _INGEST_LOCK}).scalar():
            raise IngestError("Another ingest is publishing to the database; try again "
                              "when it has finished.")
        try:
            _drop_builds(url, "state = 'building'")  # left by a killed ingest
            build_id, name = _write_build(settings, index)
            with engine(url).begin() as conn:  # the switch: one transaction
                conn.execute(text("INSERT INTO assistant_current (build_id) VALUES (:b) "
                                  "ON CONFLICT (singleton) DO UPDATE SET build_id = :b, "
                                  "switched_at = now()"), {"b": build_id})
                conn.execute(text("UPDATE assistant_builds SET state = 'live' "
                                  "WHERE build_id = :b"), {"b": build_id})
            _drop_builds(url, "build_id NOT IN (SELECT build_id FROM assistant_builds "
                              "WHERE state = 'live' ORDER BY build_id DESC LIMIT 2)")
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _INGEST_LOCK})
            lock.commit()
    logger.info("published build %s (%d passages)", name, len(index.passages))
    return name


def _write_build(settings: Settings, index: IndexData) -> tuple[int, str]:
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
    from sqlalchemy import text

    url, kind = settings.database_url, settings.pg_vector_index
    manifest = {**index.manifest, "name": index.path.name, "pg_vector_index": kind}
    with engine(url).begin() as conn:
        name = f"{index.path.name}-{time.time_ns() % 10**9}"
        build_id = conn.execute(text(
            "INSERT INTO assistant_builds (name, manifest) VALUES (:n, :m) "
            "RETURNING build_id"), {"n": name, "m": json.dumps(manifest)}).scalar()
        conn.execute(text("INSERT INTO assistant_documents VALUES (:b, :d, :m, :t)"), [
            {"b": build_id, "d": d.doc_id, "t": d.text,
             "m": json.dumps({**d.meta(), "page_points": d.page_points})}
            for d in index.documents.values()])
        rows = [{"b": build_id, "p": i, "k": "objective", "d": o.doc_id,
                 "data": json.dumps(o.to_dict())} for i, o in enumerate(index.objectives)]
        rows += [{"b": build_id, "p": i, "k": "question", "d": q.doc_id,
                  "data": json.dumps(q.to_dict())} for i, q in enumerate(index.questions)]
        if rows:
            conn.execute(text("INSERT INTO assistant_provisions VALUES "
                              "(:b, :p, :k, :d, :data)"), rows)
        conn.execute(text("INSERT INTO assistant_arrays VALUES (:b, :n, :data)"), [
            {"b": build_id, "n": name_, "data": _npy(getattr(index, name_))}
            for name_ in _ARRAYS])
    store = vector_store(url, build_id, int(index.manifest["dimension"]), setup=True,
                         index_kind=kind)
    nodes = [TextNode(id_=p.id, text=embed_text(p, index.documents[p.doc_id]),
                      embedding=index.passage_vectors[row].tolist(),
                      metadata={"doc_id": p.doc_id, "row": row, "passage": p.to_dict()},
                      # the source document: llama-index writes its id as metadata "doc_id"
                      relationships={NodeRelationship.SOURCE: RelatedNodeInfo(
                          node_id=p.doc_id)},
                      excluded_embed_metadata_keys=["passage", "row"],
                      excluded_llm_metadata_keys=["passage", "row"])
             for row, p in enumerate(index.passages)]
    for i in range(0, len(nodes), 2000):
        store.add(nodes[i : i + 2000])
    return build_id, name


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def _drop_builds(url: str, where: str) -> None:
    """Drop the builds matching `where` (never the one in use) and their passage tables."""
    from sqlalchemy import text

    with engine(url).begin() as conn:
        ids = [r[0] for r in conn.execute(text(
            f"SELECT build_id FROM assistant_builds WHERE ({where}) AND build_id NOT IN "
            "(SELECT build_id FROM assistant_current)"))]
        for build_id in ids:
            conn.execute(text(f"DROP TABLE IF EXISTS data_{_vector_table(build_id)}"))
            conn.execute(text("DELETE FROM assistant_builds WHERE build_id = :b"),
                         {"b": build_id})
