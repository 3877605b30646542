"""Page setup shared by every page: a distinct title, the local icon, and the styles that
make the app readable (WCAG 2.2 AA contrast, a highlight that survives a projector, room
for the rating buttons at phone width). Nothing here is fetched from outside the machine:
the icon is a local file and Streamlit serves its own fonts."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

APP_NAME = "NHS policy assistant"
ICON = Path(__file__).resolve().parent / "static" / "icon.png"

# #4a4d57 on white is 8.6:1 and on the light grey of a chat message still above 7:1;
# the highlight is a saturated yellow with black text (about 17:1) and an underline, so a
# washed-out projector still shows where the quote is.
CSS = """
<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
.answer .where, .answer .as-printed, [data-testid="stWidgetLabel"] p,
[data-testid="stMetricLabel"] p,
[data-testid="stChatInputTextArea"]::placeholder,
[data-testid="stTextInputRootElement"] input::placeholder { color: #4a4d57 !important; }
[data-testid="stCaptionContainer"] { opacity: 1 !important; }
[role="spinbutton"] { display: inline-block; min-width: 24px; min-height: 24px;
  text-align: center; }
.answer mark, .doc-text mark { background: #ffd43b; color: #000; padding: 0 .1em;
  border-bottom: 2px solid #6b5000; }
.answer .where { font-size: .875rem; margin: 0 0 .4rem 0; }
.answer .as-printed { font-size: .875rem; font-style: italic; margin: .3rem 0 0 0; }
h2.question { font-size: 1rem; font-weight: 600; margin: 0; padding: .2rem 0; line-height: 1.5; }
.answer h3 { font-size: 1.05rem; font-weight: 700; margin: 1rem 0 .4rem 0; padding: 0; }
.answer h4 { font-size: .95rem; font-weight: 700; margin: 0 0 .2rem 0; padding: 0; }
.answer .source { border: 1px solid #c8cad1; border-radius: .5rem; padding: .6rem .8rem;
  margin: 0 0 .6rem 0; scroll-margin-top: 5rem; }
.answer .source:target { outline: 3px solid #005eb8; }
.answer a.cite { color: #005eb8; font-weight: 700; text-decoration: underline; }
.answer .refusal { background: #fff4ce; border-left: 4px solid #8a6100; padding: .6rem .8rem; }
.answer details.objective, .answer details.provision { border: 1px solid #c8cad1;
  border-radius: .5rem; padding: .4rem .8rem; margin: 0 0 .4rem 0; }
.answer details summary { cursor: pointer; }
.earlier h2.question { background: #f0f2f6; border-radius: .5rem; padding: .5rem .8rem;
  margin: 1rem 0 .5rem 0; }
.private { display: inline-block; background: #6b2c91; color: #fff; font-size: .75rem;
  font-weight: 600; border-radius: .3rem; padding: 0 .35rem; margin-left: .35rem; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
.doc-text p { margin: 0 0 .6rem 0; }
.doc-text .page { color: #4a4d57; font-size: .8rem; font-weight: 600; margin-top: 1rem; }
[data-testid="stExpandSidebarButton"]::after { content: "Menu"; font-weight: 600;
  margin-left: .25rem; }
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-bottom: 10rem; }
}
</style>
"""


def setup_page(title: str) -> None:
    """Give the page its own browser title and apply the shared styles."""
    st.set_page_config(page_title=f"{title} · {APP_NAME}", page_icon=ICON, layout="centered")
    st.html(CSS)
