"""Feedback: what people asked and how they rated the answers, for trainers reviewing it."""

from __future__ import annotations

import json

import streamlit as st

from assistant.errors import AssistantError
from assistant.feedback import read_feedback
from ui import state
from ui.render import md_escape, md_text

st.title("Feedback")
st.write("Every rated answer, newest first: the question as asked, the answer and its sources.")

try:
    entries = read_feedback(state.settings())
except AssistantError as exc:
    st.error(md_escape(str(exc)))
    st.stop()

if not entries:
    st.info("No feedback yet: rate an answer with the thumbs under it on the Ask page.")
    st.stop()

ups = sum(e.get("rating") == "up" for e in entries)
downs = sum(e.get("rating") == "down" for e in entries)
c1, c2, c3 = st.columns(3)
c1.metric("Rated answers", len(entries))
c2.metric("Helpful", ups)
c3.metric("Not helpful", downs)

show = st.radio("Show", ["All", "Not helpful", "Helpful"], horizontal=True, key="fb-filter")
wanted = {"All": None, "Not helpful": "down", "Helpful": "up"}[show]
st.download_button(
    "Download as JSON lines", "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries),
    file_name="feedback.jsonl", mime="application/x-ndjson", icon=":material/download:")

for entry in reversed(entries):
    if wanted and entry.get("rating") != wanted:
        continue
    with st.container(border=True):
        mark = ":material/thumb_up:" if entry.get("rating") == "up" else ":material/thumb_down:"
        st.markdown(f"{mark} **{md_escape(str(entry.get('question', '')))}**")
        st.caption(md_escape(f"{entry.get('timestamp', '')}"
                             + (" · refused" if entry.get("refused") else "")))
        st.markdown(md_text(str(entry.get("answer", ""))))
        sources = entry.get("citations") or []
        if sources:
            with st.expander(f"{len(sources)} source{'s' if len(sources) != 1 else ''}"):
                for c in sources:
                    where = ", ".join(str(x) for x in (
                        c.get("section"), c.get("paragraph") and f"para {c['paragraph']}",
                        c.get("page") and f"p. {c['page']}") if x)
                    st.markdown(md_escape(f"[{c.get('marker')}] {c.get('title', '')} ({where})"))
