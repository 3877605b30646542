"""NHS policy assistant: the Streamlit entry point.

    python -m streamlit run ui/app.py --server.address 127.0.0.1 --server.port 8501

The model and index load once per server; a missing index is built first, with progress.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `ui` is imported as a package from the repository root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui import sidebar, state  # noqa: E402

st.set_page_config(page_title="NHS policy assistant", page_icon=":material/local_hospital:",
                   layout="centered")
state.init_session()

pages = [
    st.Page("views/chat.py", title="Ask", icon=":material/chat:", default=True),
    st.Page("views/objectives.py", title="Objectives", icon=":material/flag:"),
    st.Page("views/consultation.py", title="Consultation", icon=":material/forum:"),
    st.Page("views/glossary.py", title="Plain English", icon=":material/translate:"),
    st.Page("views/documents.py", title="Documents", icon=":material/description:"),
    st.Page("views/feedback.py", title="Feedback", icon=":material/reviews:"),
]
page = st.navigation(pages)
assistant = state.require_assistant()
sidebar.render_search(assistant)
conversation = st.sidebar.container()
page.run()
sidebar.render_conversation(assistant, conversation)
