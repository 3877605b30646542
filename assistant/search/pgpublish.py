"""Publishing a build to PostgreSQL: `publish(settings, index)` copies a loaded build into
the database as a new build and switches it in with one transaction (see
`assistant.search.pgstore` for the layout)."""

from __future__ import annotations

import io
import json
import logging
import time

import numpy as np

from assistant.config import Settings
from assistant.errors import IngestError
from assistant.search.index import IndexData, embed_text
from assistant.search.pgstore import _ARRAYS, _vector_table, engine, migrate, tokenize, vector_store

logger = logging.getLogger(__name__)

_INGEST_LOCK = 0x6173_7369  # advisory lock key held by one publishing ingest at a time


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
        rows += [{"b": build_id, "p": i, "k": "provision", "d": p.doc_id,
                  "data": json.dumps(p.to_dict())} for i, p in enumerate(index.provisions)]
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
    _lexical_stats(url, build_id, index)
    return build_id, name


def _tsvector(tokens: list[str]) -> str:
    """A tsvector literal holding each token with its positions (so its count)."""
    positions: dict[str, list[int]] = {}
    for i, token in enumerate(tokens, start=1):
        positions.setdefault(token, []).append(min(i, 16383))
    return " ".join(f"'{t}':{','.join(map(str, p[:256]))}" for t, p in positions.items())


def _lexical_stats(url: str, build_id: int, index: IndexData) -> None:
    """Each passage's tokens (`lexemes`, GIN-indexed) and length, and the build's
    document frequencies: what BM25 needs."""
    from sqlalchemy import text

    table = "data_" + _vector_table(build_id)
    texts = [embed_text(p, index.documents[p.doc_id]) for p in index.passages]
    tokens = tokenize(texts)
    with engine(url).begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN lexemes tsvector, "
                          "ADD COLUMN n_tokens int"))
        conn.execute(text(f"UPDATE {table} SET lexemes = CAST(:v AS tsvector), n_tokens = :n "
                          "WHERE node_id = :id"),
                     [{"id": p.id, "v": _tsvector(t), "n": len(t)}
                      for p, t in zip(index.passages, tokens, strict=True)])
        conn.execute(text(f"CREATE INDEX {table}_lexemes ON {table} USING gin (lexemes)"))
        conn.execute(text(
            "INSERT INTO assistant_terms (build_id, lexeme, df) SELECT :b, word, ndoc "
            f"FROM ts_stat('SELECT lexemes FROM {table}')"), {"b": build_id})
        n, avgdl = conn.execute(text(f"SELECT count(*), avg(n_tokens) FROM {table}")).one()
        conn.execute(text("UPDATE assistant_builds SET lexical = :s WHERE build_id = :b"),
                     {"b": build_id, "s": json.dumps({"n": n, "avgdl": float(avgdl or 1)})})


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
