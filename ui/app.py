"""NHS policy assistant: the Streamlit entry point.

    python -m streamlit run ui/app.py --server.address 127.0.0.1 --server.port 8501

The model and index load once per server; a missing index is built first, with progress.
Navigation sits at the top of the page (it folds into a labelled menu at phone width);
each page sets its own title and draws its own controls.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `ui` is imported as a package from the repository root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui import state, theme  # noqa: E402

st.set_page_config(page_title=theme.APP_NAME, page_icon=theme.ICON, layout="centered")
state.init_session()
# the chat's search settings keep their values while another page is open
for key in ("docs", "k", "show_scores"):
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]

pages = [
    st.Page("views/chat.py", title="Ask", icon=":material/chat:", default=True),
    st.Page("views/objectives.py", title="Objectives", icon=":material/flag:"),
    st.Page("views/consultation.py", title="Consultation", icon=":material/forum:"),
    st.Page("views/glossary.py", title="Plain English", icon=":material/translate:"),
    st.Page("views/documents.py", title="Documents", icon=":material/description:"),
    st.Page("views/feedback.py", title="Feedback", icon=":material/reviews:"),
]
page = st.navigation(pages, position="top")
state.require_assistant()
page.run()
