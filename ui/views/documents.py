"""Documents: the shared corpus, your own documents, reading a document, and (for an
administrator) adding to or removing from the shared corpus."""

from __future__ import annotations

import logging

import streamlit as st

from assistant.errors import AssistantError
from ui import private, state, theme
from ui.doc_text import document_html
from ui.render import local_time, local_zone, md_escape
from ui.uploads import display_name, ingest_upload, is_admin, plural, remove_from_corpus

logger = logging.getLogger("assistant.ui")
PRIVATE_LABEL = "uploaded by you, not an official document"


def _facts(doc, passages: int, mine: bool) -> str:
    facts = [PRIVATE_LABEL] if mine else [
        doc.kind if doc.kind != "document" else "",
        doc.status if doc.status != "unknown" else "", doc.date]
    facts.append(plural(doc.n_pages, "page") if doc.n_pages else "")
    facts.append(plural(passages, "passage"))
    facts.append(doc.source if doc.source and not mine else "")
    return " · ".join(str(f) for f in facts if f)


def _document(doc, passages: int, mine: bool, remove=None) -> None:
    with st.container(border=True):
        st.markdown(f"**{md_escape(doc.title)}**")
        st.caption(md_escape(_facts(doc, passages, mine)))
        if remove is not None:
            remove()


def _flash() -> None:
    flash = st.session_state.pop("flash", None)
    if flash:
        kind, text = flash
        (st.success if kind == "success" else st.error)(md_escape(text))


def _add_private(name: str, data: bytes) -> None:
    s, sid = state.settings(), state.session_id()
    try:
        path, _ = private.add_private(s, sid, name, data, state.build_private_with_progress(
            f"Indexing {display_name(name)}:"))
    except AssistantError as exc:
        st.session_state["flash"] = ("error", str(exc))
        return
    st.session_state["flash"] = ("success", f"Added {path.name} to your documents. Only you "
                                            "can see it; it is searchable now.")
    st.session_state["uploads"] = st.session_state.get("uploads", 0) + 1


def _add_shared(name: str, data: bytes) -> None:
    s = state.settings()

    def build():
        with state.index_lock():
            return state.build_with_progress(s, f"Indexing {display_name(name)}:")

    try:
        path, report = ingest_upload(s, name, data, build)
    except AssistantError as exc:
        st.session_state["flash"] = ("error", str(exc))
        return
    state.reload()
    entry = next((d for d in state.require_assistant().index.manifest.get("documents", [])
                  if d.get("file") == path.name), {})
    state.store().log_event("corpus.add", {"file": path.name, "title": entry.get("title", ""),
                                           "session": state.session_id()})
    st.session_state["flash"] = (
        "success", f"Added {path.name} to the shared corpus as “{entry.get('title', '')}”: "
                   f"{plural(int(entry.get('passages', 0)), 'passage')}, indexed in "
                   f"{report.seconds:.1f} s. Everyone can search it now.")
    st.session_state["uploads"] = st.session_state.get("uploads", 0) + 1


def _remove_shared(filename: str, title: str) -> None:
    s = state.settings()

    def build():
        with state.index_lock():
            return state.build_with_progress(s, f"Removing {filename}:")

    try:
        remove_from_corpus(s, filename, build)
    except AssistantError as exc:
        st.session_state["flash"] = ("error", str(exc))
        return
    state.reload()
    state.store().log_event("corpus.remove", {"file": filename, "title": title,
                                              "session": state.session_id()})
    st.session_state["flash"] = ("success", f"Removed {filename} (“{title}”) from the shared "
                                            "corpus.")


def _remove_private(filename: str) -> None:
    try:
        private.remove_private(state.settings(), state.session_id(), filename,
                               state.build_private_with_progress(f"Removing {filename}:"))
    except AssistantError as exc:
        st.session_state["flash"] = ("error", str(exc))
        return
    st.session_state["flash"] = ("success", f"Removed {filename} from your documents.")


def _passage_counts(index) -> dict[str, dict]:
    return {d["doc_id"]: d for d in index.manifest.get("documents", [])}


def _shared(index, mine: set[str], admin: bool) -> None:
    st.header("Shared documents", anchor=False)
    counts = _passage_counts(index)
    for doc_id, doc in index.documents.items():
        if doc_id in mine:
            continue
        entry = counts.get(doc_id, {})
        remove = None
        if admin and entry.get("file"):
            def remove(file=entry["file"], title=doc.title, d=doc_id):
                st.button("Remove from the shared corpus", key=f"rm-{d}",
                          icon=":material/delete:", on_click=_remove_shared,
                          args=(file, title))
        _document(doc, int(entry.get("passages", 0)), False, remove)


def _mine(index, mine: set[str]) -> None:
    st.header("My documents", anchor=False)
    st.markdown("Upload a PDF (with a text layer) or a .txt/.md file to search it beside the "
                "official documents. It stays private to this conversation: only you see it "
                "and only your questions search it, and its passages are marked "
                f"“{PRIVATE_LABEL}”.")
    counts = _passage_counts(index)
    for doc_id in sorted(mine):
        doc = index.documents[doc_id]
        file = counts.get(doc_id, {}).get("file") or ""

        def remove(file=file, d=doc_id):
            st.button("Remove", key=f"rm-mine-{d}", icon=":material/delete:",
                      on_click=_remove_private, args=(file,))
        _document(doc, int(counts.get(doc_id, {}).get("passages", 0)), True, remove)
    limit = state.settings().max_file_mb
    upload = st.file_uploader(f"PDF or text file, up to {limit} MB", type=["pdf", "txt", "md"],
                              key=f"upload-{st.session_state.get('uploads', 0)}",
                              max_upload_size=limit)
    if st.button("Add to my documents", type="primary", disabled=upload is None,
                 key="ingest", icon=":material/upload_file:"):
        _add_private(upload.name, upload.getvalue())
        st.rerun()


def _admin(admin: bool) -> None:
    st.header("Shared corpus (administrators)", anchor=False)
    if not state.settings().admin_token:
        st.markdown("Adding to the shared corpus is switched off: no administrator token is "
                    "set (`ASSISTANT_ADMIN_TOKEN`).")
        return
    st.text_input("Administrator token", type="password", key="admin-token")
    if not admin:
        if st.session_state.get("admin-token"):
            st.error("That is not the administrator token.")
        return
    st.markdown("Files added here are searched by everyone. Every addition and removal is "
                "logged.")
    upload = st.file_uploader("Add to the shared corpus", type=["pdf", "txt", "md"],
                              key=f"shared-upload-{st.session_state.get('uploads', 0)}",
                              max_upload_size=state.settings().max_file_mb)
    if st.button("Add to the shared corpus", disabled=upload is None, key="ingest-shared",
                 icon=":material/publish:"):
        _add_shared(upload.name, upload.getvalue())
        st.rerun()
    events = state.store().events()[:20]
    if events:
        zone = local_zone()
        with st.expander(f"Changes to the shared corpus ({len(events)} most recent)"):
            for e in events:
                verb = "added" if e["action"] == "corpus.add" else "removed"
                st.markdown(md_escape(f"{local_time(e['at'], zone)}: {verb} {e.get('file')} "
                                      f"({e.get('title', '')})"))


def _reader(index, mine: set[str]) -> None:
    st.header("Read a document", anchor=False)
    docs = index.documents
    doc_id = st.selectbox("Document", [""] + list(docs), key="read-doc",
                          format_func=lambda d: (docs[d].title + (" (yours)" if d in mine
                                                                  else "")) if d else "Choose…")
    if doc_id:
        st.html(_document_html(str(index.path), doc_id, index))


@st.cache_data(show_spinner=False, max_entries=16)
def _document_html(build: str, doc_id: str, _index) -> str:
    return document_html(_index, doc_id)


def page() -> None:
    theme.setup_page("Documents")
    assistant = state.session_assistant()
    index = assistant.index
    mine = state.private_ids(assistant)
    admin = is_admin(state.settings(), st.session_state.get("admin-token", ""))
    st.title("Documents")
    counts = index.manifest.get("counts", {})
    cols = st.columns(4)
    cols[0].metric("Documents", len(index.documents))
    cols[1].metric("Passages", counts.get("passages", len(index.passages)))
    cols[2].metric("Objectives", counts.get("objectives", len(index.objectives)))
    cols[3].metric("Consultation questions", counts.get("questions", len(index.questions)))
    built = local_time(index.manifest.get("built_at"), local_zone())
    st.caption(md_escape(f"Index built {built} with {index.manifest.get('model', '')}."))
    _flash()
    _shared(index, mine, admin)
    _mine(index, mine)
    _reader(index, mine)
    _admin(admin)


state.guarded(page)
