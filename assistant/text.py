"""Small text helpers shared by the question and the documents: the years a text names,
and the one English stemmer every lexical step uses."""

from __future__ import annotations

import functools
import json
import re

_YEAR = re.compile(r"\b((?:19|20)\d{2})(?:\s*[/\u2013-]\s*(\d{2}))?\b")
# what parts the cells of a table's row in a document's text ("Review date | October 2027")
CELL_BAR = " | "
# a line that gives a label and its value ("Approved by: Drugs and Therapeutics Committee")
LABELLED_LINE = re.compile(r"^[A-Z][^:.;!?]{0,40}:\s+\S")
# bullets that word processors set in the Symbol and Wingdings fonts, which a PDF's text
# gives as private-use characters ("\uf0b7 a review of medicines"): read as a bullet
BULLET_GLYPHS = str.maketrans(dict.fromkeys(
    "\uf0b7\uf0a7\uf0d8\uf076\uf0fc\uf06e\uf0a8\uf0e8", "\u2022"))


def years_in(text: str) -> list[str]:
    """The years a text names, a range's second year written out ("2017-19" -> 2017, 2019)."""
    out = []
    for m in _YEAR.finditer(text):
        out.append(m.group(1))
        if m.group(2):
            out.append(m.group(1)[:2] + m.group(2))
    return out


def year_spans(text: str) -> list[tuple[str, list[str]]]:
    """Each year or year range as written, with the years it names."""
    return [(m.group(0), years_in(m.group(0))) for m in _YEAR.finditer(text)]


def strip_years(text: str) -> str:
    return _YEAR.sub(" ", text)


@functools.cache
def stemmer():
    """The English Snowball stemmer (PyStemmer), made once per process."""
    import Stemmer

    return Stemmer.Stemmer("english")


# A sentence opening with one of these words leans on the sentence before it; except "this"
# or "these" naming the document itself or a part of it ("This policy applies to all staff",
# "This chapter sets out ..."), which any reader can follow without the sentence before.
_DOCUMENT_NOUNS = ("policy|policies|document|procedure|guidance|strategy|plan|mandate|"
                   "constitution|handbook|framework|report|guidelines?|protocol|chapter|"
                   "section|appendix|annex|leaflet|consultation|paper")
BACK_REFERENCE = re.compile(
    rf"^\W*(?:this|these)\b(?!\s+(?:{_DOCUMENT_NOUNS})\b)"
    r"|^\W*(?:those|that|it|its|they|their|them|such|both|he|she|his|her)\b"
    r"|^\W*(?:however|also|in addition|furthermore|moreover|therefore|thus)\b",
    re.I,
)


# a lower-case word or number, as the lexicon holds them
WORD = re.compile(r"[a-z0-9]+")
_ACRONYM = re.compile(r"\b[A-Z]{2,}\b")


def vocabulary(texts) -> set[str]:
    """Lower-case words and comma-free numbers of the given texts."""
    vocab: set[str] = set()
    for text in texts:
        vocab.update(WORD.findall(text.lower().replace(",", "")))
    return vocab


def acronyms(texts) -> set[str]:
    """The words of two or more capitals the texts write ("EU", "NHS", "CCG")."""
    found: set[str] = set()
    for text in texts:
        found.update(_ACRONYM.findall(text))
    return found


def lexicon(docs) -> dict[str, set[str]]:
    """What the documents (their text and titles) write, for telling whether a question's
    specifics are in them: every word and number, and every word of capitals. Written
    with an index build (a scan of every document's text takes seconds at a million
    passages: `write_lexicon`, `read_lexicon`), else made when the index is loaded."""
    texts = [d.text for d in docs] + [d.title for d in docs]
    return {"words": vocabulary(texts), "capitals": acronyms(texts)}


def write_lexicon(path, lex: dict[str, set[str]]) -> None:
    path.write_text(json.dumps({k: sorted(v) for k, v in lex.items()}), encoding="utf-8")


def read_lexicon(path) -> dict[str, set[str]]:
    return {k: set(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
