"""Documents: the corpus and its manifest, and adding a PDF or text file to it."""

from __future__ import annotations

import logging

import streamlit as st

from assistant.errors import AssistantError
from ui import state
from ui.render import md_escape
from ui.uploads import display_name, ingest_upload

logger = logging.getLogger("assistant.ui")


def _rows(index) -> list[dict]:
    """One row per document: its manifest entry (title, kind, status, date) and counts."""
    rows = []
    counts = {d["doc_id"]: d for d in index.manifest.get("documents", [])}
    for doc_id, doc in index.documents.items():
        entry = counts.get(doc_id, {})
        rows.append({
            "id": doc_id, "title": doc.title, "kind": doc.kind, "status": doc.status,
            "date": doc.date, "pages": doc.n_pages,
            "passages": entry.get("passages", sum(p.doc_id == doc_id for p in index.passages)),
            "file": entry.get("file", ""), "source": doc.source,
        })
    return rows


def _document(row: dict) -> None:
    with st.container(border=True):
        st.markdown(f"**{md_escape(row['title'])}**")
        facts = [row["kind"], row["status"], row["date"],
                 f"{row['pages']} pages" if row["pages"] else "no page numbers (web page)",
                 f"{row['passages']} passages", row["file"]]
        st.caption(md_escape(" · ".join(str(f) for f in facts if f)))


def _ingest(name: str, data: bytes) -> None:
    """Add one upload to the corpus and the index, with a progress bar; report the result."""
    s = state.settings()

    def build():
        with state.index_lock():
            return state.build_with_progress(s, f"Indexing {display_name(name)}:")

    try:
        path, report = ingest_upload(s, name, data, build)
    except AssistantError as exc:
        st.session_state["flash"] = ("error", str(exc))
        return
    except Exception as exc:  # a bug: one line here, the traceback in the log
        logger.exception("upload of %r failed", name)
        st.session_state["flash"] = ("error", f"{display_name(name)} could not be added "
                                              f"({type(exc).__name__}); the index is unchanged.")
        return
    state.reload()
    assistant = state.require_assistant()
    entry = next((d for d in assistant.index.manifest.get("documents", [])
                  if d.get("file") == path.name), None)
    if entry is None:
        st.session_state["flash"] = ("error", f"{path.name} was saved but is not in the index.")
        return
    st.session_state["flash"] = (
        "success",
        f"Added {path.name} as “{entry['title']}”: {entry['passages']} passages, "
        f"indexed in {report.seconds:.0f} s. It is searchable now.",
    )
    st.session_state["uploads"] = st.session_state.get("uploads", 0) + 1  # empty the uploader


def page() -> None:
    assistant = state.require_assistant()
    index = assistant.index
    st.title("Documents")
    counts = index.manifest.get("counts", {})
    cols = st.columns(4)
    cols[0].metric("Documents", len(index.documents))
    cols[1].metric("Passages", counts.get("passages", len(index.passages)))
    cols[2].metric("Objectives", counts.get("objectives", len(index.objectives)))
    cols[3].metric("Consultation questions", counts.get("questions", len(index.questions)))
    built = index.manifest.get("built_at", "")
    st.caption(md_escape(f"Index built {built} with {index.manifest.get('model', '')} from "
                         f"{state.settings().corpus_dir}."))
    for row in _rows(index):
        _document(row)

    st.subheader("Add a document")
    limit = state.settings().max_file_mb
    st.markdown(f"A PDF (with a text layer) or a .txt/.md file, up to {limit} MB. It is "
                "saved in the corpus folder, indexed, and searchable straight away; if it "
                "cannot be read, it is not kept and the index stays as it was.")
    flash = st.session_state.pop("flash", None)
    if flash:
        kind, text = flash
        (st.success if kind == "success" else st.error)(md_escape(text))
    upload = st.file_uploader("PDF or text file", type=["pdf", "txt", "md"],
                              key=f"upload-{st.session_state.get('uploads', 0)}",
                              max_upload_size=limit)
    if st.button("Add to the corpus and index", type="primary", disabled=upload is None,
                 key="ingest", icon=":material/upload_file:"):
        _ingest(upload.name, upload.getvalue())
        st.rerun()


state.guarded(page)
