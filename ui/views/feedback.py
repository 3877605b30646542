"""Feedback: what people asked, what they were told and how they rated it, for trainers.

Filters by date, rating and cited document; times are shown in the browser's time zone;
the filtered turns export as CSV or JSON lines.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from assistant.errors import AssistantError
from ui import state, theme
from ui.exports import to_csv, to_jsonl
from ui.render import local_time, local_zone, md_escape, md_text

RATINGS = {"All": None, "Not helpful": "down", "Helpful": "up", "Rated": "rated",
           "Not rated": "unrated"}


def _utc(day: date, zone) -> str:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC).isoformat()


def _filters(titles: dict[str, str], zone) -> dict:
    today = datetime.now(zone).date()
    a, b, c = st.columns(3)
    span = a.date_input("Asked between", value=(today - timedelta(days=30), today),
                        key="fb-dates", format="DD/MM/YYYY")
    rating = b.selectbox("Rating", list(RATINGS), key="fb-filter")
    doc = c.selectbox("Cited document", [""] + list(titles), key="fb-doc",
                      format_func=lambda d: titles.get(d, d) if d else "Any document")
    since = until = None
    if isinstance(span, tuple) and span:
        since = _utc(span[0], zone)
        until = _utc((span[1] if len(span) > 1 else span[0]) + timedelta(days=1), zone)
    return {"since": since, "until": until, "rating": RATINGS[rating], "doc_id": doc or None}


def _turn(t: dict, zone) -> None:
    with st.container(border=True):
        mark = {"up": ":material/thumb_up: ", "down": ":material/thumb_down: "}.get(
            t["rating"] or "", "")
        st.markdown(f"{mark}**{md_escape(t['question'])}**")
        facts = [local_time(t["created_at"], zone),
                 {"up": "helpful", "down": "not helpful"}.get(t["rating"] or "", "not rated"),
                 "refused" if t["refused"] else ""]
        st.caption(md_escape(" · ".join(f for f in facts if f)))
        st.markdown(md_text(t["error"] or t["answer"]))
        if t["comment"]:
            st.markdown(f"Comment: *{md_escape(t['comment'])}*")
        sources = t["citations"]
        if sources:
            with st.expander(f"{len(sources)} source{'s' if len(sources) != 1 else ''}"):
                for c in sources:
                    where = ", ".join(str(x) for x in (
                        c.get("section"), c.get("paragraph") and f"para {c['paragraph']}",
                        c.get("page") and f"p. {c['page']}") if x)
                    st.markdown(md_escape(f"[{c.get('marker')}] {c.get('title', '')} ({where})"))


def page() -> None:
    theme.setup_page("Feedback")
    st.title("Feedback")
    st.write("What people asked, the answers and sources they were given, and how they rated "
             "them, newest first. Times are in your time zone.")
    if not state.settings().log_questions:
        st.info("Question logging is off (ASSISTANT_LOG_QUESTIONS=false): only answers "
                "someone rated are kept.")
    zone = local_zone()
    assistant = state.require_assistant()
    titles = {d: doc.title for d, doc in assistant.index.documents.items()}
    chosen = _filters(titles, zone)
    try:
        turns = state.store().turns(**chosen)
    except AssistantError as exc:
        st.error(md_escape(str(exc)))
        return
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Questions", len(turns))
    c2.metric("Rated", sum(t["rating"] is not None for t in turns))
    c3.metric("Helpful", sum(t["rating"] == "up" for t in turns))
    c4.metric("Not helpful", sum(t["rating"] == "down" for t in turns))
    if not turns:
        st.info("Nothing matches: no question was asked in these dates with this rating and "
                "document.")
        return
    d1, d2 = st.columns(2)
    d1.download_button("Download as CSV", to_csv(turns), file_name="feedback.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore",
                       key="fb-csv")
    d2.download_button("Download as JSON lines", to_jsonl(turns), file_name="feedback.jsonl",
                       mime="application/x-ndjson", icon=":material/download:",
                       on_click="ignore", key="fb-jsonl")
    st.header("Questions", anchor=False)
    for t in turns[:200]:
        _turn(t, zone)
    if len(turns) > 200:
        st.caption(f"The first 200 of {len(turns)} are shown; the downloads hold them all.")


state.guarded(page)
