"""Sentence re-ranking: every sentence of the retrieved passages scored for the answer.

The score is the sentence's cosine with the question, plus a little weight from its
passage's fused rank, plus a share of the question's words that the sentence holds (each
word weighted by its rarity among the corpus's sentences, so "Confederation" counts and
"NHS" barely does), plus a little for a sentence that states the kind of fact asked for
(a date for "when") or comes from a document the question names by its title, less a
little for sentences that make poor answers: references (a web address), footnotes, and
consultation questions when the user is not asking about the consultation."""

from __future__ import annotations

import functools
import math
import re
import weakref
from collections import Counter

import numpy as np
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle
from pydantic import PrivateAttr

from assistant.config import Settings
from assistant.search.abbreviations import abbreviations
from assistant.text import BACK_REFERENCE, stemmer
from assistant.types import Hit, Intent, PassageKind, Query, ScoredSentence

_REFERENCE = re.compile(r"https?://|www\.")
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november"
           "|december")
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_NUMBER_WORDS = ("two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty"
                 "|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million"
                 "|billion")
# a date to the day ("26th September 2012", "1 april 2013", "20 April 2012"): a month
# next to a day's number, in any case (documents print "april" too)
_DAY_DATE = re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\b"
                       rf"|\b(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?\b", re.I)
# what a sentence stating a fact of each kind carries (a person or named body: see
# `name_words`)
_CARRIES = {
    # a year, a day's ordinal, a month next to a number, or a month written capitalised
    # ("From November"); "may" alone is the verb
    "date": re.compile(rf"\b(?:19|20)\d\d\b|\b\d{{1,2}}(?:st|nd|rd|th)\b|{_DAY_DATE.pattern}"
                       rf"|\b(?i:{_MONTHS})\s+(?:19|20)\d\d\b"
                       rf"|\b(?!May\b)(?:{_MONTHS.title()})\b"),
    "number": re.compile(rf"\d|\b(?:{_NUMBER_WORDS}|half|quarter|third|dozen|per ?cent"
                         r"|percent)\b", re.I),
    "duration": re.compile(
        rf"\b(?:\d+|an?|one|{_NUMBER_WORDS}|several|few)[\s-]+(?:(?:working|calendar)\s+)?"
        r"(?:days?|weeks?|months?|years?|hours?|minutes?|decades?)\b"
        r"|\b(?:every|each|per)\s+(?:day|week|month|year)\b"
        r"|\b(?:annual(?:ly)?|weekly|monthly|daily|yearly|once|twice|until)\b", re.I),
}
# what a number may be besides a quantity: a year, or the number of a part of a document
_NOT_QUANTITY = re.compile(
    r"\b(?:(?:19|20)\d\d(?:/\d\d)?|(?:objectives?|domains?|chapters?|annex|sections?"
    r"|paragraphs?|questions?|pages?|footnotes?)\s+\d[\d.]*(?:\s*[-\u2013]\s*\d+)?)\b", re.I)
# a capitalised word after a lower-case word or a comma (a name's candidate; not a month or
# a day of the week), an Act of Parliament
_CAPITALISED = re.compile(rf"(?<=[a-z,;] )(?!(?:{_MONTHS.title()}|{_WEEKDAYS.title()})\b)"
                          r"[A-Z][a-z\u2019']+\b")
_LAW = re.compile(r"\b[A-Z][a-z]+ Act\b")
_ACT_NAME = re.compile(r"(?:\b[A-Z][a-z]+\s+(?:(?:of|and|for)\s+)?)+Act\b")
# a row of a document's control table that names who did something to it ("Approved by
# Health and Safety Committee", "Author: Head of Nursing"), answering "who approved ...?"
_AGENT_ROW = re.compile(
    r"^\W*(?P<label>(?:approved|ratified|authori[sz]ed|written|prepared|reviewed|issued|agreed"
    r"|owned|sponsored|produced|developed|signed off|endorsed) by|authors?|owners?|leads?"
    r"|sponsors?|responsible (?:officer|director|person|manager|lead)|policy (?:owner|lead)"
    r"|chair)\b\W+(?:the\s+)?(?-i:[A-Z])", re.I)
_AGENT_ROW_WORDS = 12
# the verbs a question asks with for what a label names ("Who wrote it?": the author)
_AGENT_VERBS = {"author": ("wrote", "write", "written"), "owner": ("own",),
                "lead": ("led",)}
# words of a label that say nothing of what was done ("Policy owner" does not answer "Who
# approved the policy?")
_NOT_AGENT = "policy document"
# a name's words are in at most this share of the corpus's sentences
_NAME_SHARE = 0.002
# a line of at most this many words just before a sentence may date it (a dateline)
DATELINE_WORDS = 6
# the name words of each index (computed once per loaded index)
_NAMES: dict[int, frozenset[str]] = {}


_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("""a an the and or but of in on for to with about by from at as is are was
were be been being do does did has have had can could should would will shall may might must
what which who whom whose when where why how whether there their they them it its this that
these those i me my we us our you your he she his her if not no so than then into over under
up out any all each""".split())
_IDF_PASSAGES = 20_000
# the rarity of each word among one index's sentences (computed once per loaded index)
_IDF: dict[int, dict[str, float]] = {}


@functools.lru_cache(maxsize=65536)
def words_of(text: str) -> frozenset[str]:
    """The stemmed content words of a text (lower case, without stop words); kept for
    the next question, which scores many of the same sentences."""
    tokens = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
    return frozenset(stemmer().stemWords(tokens))


def sentence_idf(index) -> dict[str, float]:
    """Each word's inverse document frequency among the index's sentences: all of them up
    to `_IDF_PASSAGES` passages, an evenly spaced sample of that many passages above (a
    sample estimates the rarity as well, and the first question of a large index does
    not wait for every sentence to be read)."""
    cached = _IDF.get(id(index))
    if cached is not None:
        return cached
    df: Counter[str] = Counter()
    n = 0
    for p in index.passages[::max(1, len(index.passages) // _IDF_PASSAGES)]:
        text = index.documents[p.doc_id].text
        for s, e in p.sentences:
            df.update(words_of(text[s:e]))
            n += 1
    idf = {w: math.log(1 + n / c) for w, c in df.items()}
    _IDF[id(index)] = idf
    # dropped with the index (a reloaded index is a new object), never keeping it alive
    weakref.finalize(index, _IDF.pop, id(index), None)
    return idf


def question_words(index, words: frozenset[str]) -> dict[str, float]:
    """The question's content words (`Query.words`), each weighted by its rarity among
    the sentences."""
    idf = sentence_idf(index)
    unseen = max(idf.values(), default=1.0)  # a word no sentence holds is the rarest
    return {word: idf.get(word, unseen) for word in words}


def sentence_words(index, text: str) -> frozenset[str]:
    """The stemmed content words of a sentence, with the other form's words of each
    abbreviation the documents define that it holds ("NHS CB": "NHS Commissioning
    Board")."""
    return abbreviations(index, words_of).expand(words_of(text))


def word_share(asked: dict[str, float], held: str | frozenset[str]) -> float:
    """The share of the question's words (weighted) that a sentence holds: its text, or
    its words (`sentence_words`)."""
    total = sum(asked.values())
    if total <= 0:
        return 0.0
    held = words_of(held) if isinstance(held, str) else held
    return sum(v for w, v in asked.items() if w in held) / total


def _with_referent(text: str, sentences, j: int) -> str:
    """Sentence j, with the sentence before it when it refers back to that one ("This
    will increase to around 18 million" is about what the sentence before it counts)."""
    own = text[slice(*sentences[j])]
    if j > 0 and BACK_REFERENCE.match(own):
        return text[sentences[j - 1][0]:sentences[j][1]]
    return own


def name_words(index) -> frozenset[str]:
    """The stems of the corpus's name words: words written capitalised inside a sentence,
    never in lower case, and in few of its sentences ("Jeremy", "Hunt"; not "Board" or
    "Constitution", which recur); computed once per loaded index."""
    cached = _NAMES.get(id(index))
    if cached is not None:
        return cached
    lower: set[str] = set()
    capital: set[str] = set()
    # the passages `sentence_idf` reads (an evenly spaced sample of a large index)
    for p in index.passages[::max(1, len(index.passages) // _IDF_PASSAGES)]:
        text = index.documents[p.doc_id].text[p.start:p.end]
        lower.update(re.findall(r"\b[a-z][a-z\u2019']+\b", text))
        capital.update(m.group(0).lower() for m in _CAPITALISED.finditer(text))
    idf = sentence_idf(index)  # log(1 + sentences / sentences holding the word)
    rare = math.log(1 + 1 / _NAME_SHARE)
    names = frozenset(w for word in capital - lower for w in words_of(word)
                      if idf.get(w, rare) >= rare)
    _NAMES[id(index)] = names
    weakref.finalize(index, _NAMES.pop, id(index), None)
    return names


def carries(kind: str | None, text: str, names: frozenset[str] = frozenset()) -> bool:
    """True when the sentence states the kind of fact asked for: a date, a number, a
    duration or frequency, a person or named body (one of the corpus's `names`), or an
    Act."""
    if kind is None:
        return False
    if kind == "number":
        text = _NOT_QUANTITY.sub(" ", text)
    if kind == "law":
        return bool(_LAW.search(text))
    if kind == "person":  # the words of an Act's name name a law, not a person
        text = _ACT_NAME.sub(" ", text)
        return any(w in names for m in _CAPITALISED.finditer(text) for w in words_of(m.group(0)))
    return bool(_CARRIES[kind].search(text))


def is_dateline(kind: str | None, line: str) -> bool:
    """True when a line dates the sentence below it, for a question asking when: a short
    line that opens with a capital or a digit and holds a date ("13 November 2012")."""
    line = line.strip()
    return (kind == "date" and len(line.split()) <= DATELINE_WORDS and not line[:1].islower()
            and carries(kind, line))


def names_agent(text: str, asked: frozenset[str]) -> bool:
    """Whether a line is a row of a document's control table naming who did what the
    question asks about ("Approved by Quality and Safety Committee", "Approved by the
    Board on 3 May 2024" for "Who approved ...?", not for "Who is responsible ...?");
    `asked`: the question's stemmed words."""
    m = _AGENT_ROW.match(text) if len(text.split()) <= _AGENT_ROW_WORDS else None
    if m is None:
        return False
    label = words_of(m.group("label")) - words_of(_NOT_AGENT)
    return bool((label | {w for x in label for w in _AGENT_VERBS.get(x, ())}) & asked)


def states_fact(kind: str | None, text: str, sentences, j: int,
                names: frozenset[str] = frozenset(), asked: frozenset[str] = frozenset()
                ) -> bool:
    """True when sentence j states the kind of fact asked for (for a person, also a
    control-table row naming who did what is asked: `names_agent`), or stands under a
    dateline that does (`is_dateline`)."""
    sentence = text[slice(*sentences[j])]
    if carries(kind, sentence, names) or kind == "person" and names_agent(sentence, asked):
        return True
    return j > 0 and is_dateline(kind, text[slice(*sentences[j - 1])])


def to_the_day(kind: str | None, text: str, sentences, j: int) -> bool:
    """True when sentence j, or the dateline above it, gives a date to the day: a question
    asking when is answered better by "26th September 2012" than by a year in passing."""
    if kind != "date":
        return False
    if _DAY_DATE.search(text, *sentences[j]):
        return True
    return j > 0 and is_dateline(kind, text[slice(*sentences[j - 1])]) and bool(
        _DAY_DATE.search(text, *sentences[j - 1]))


class SentenceNode(NodeWithScore):
    """Sentence `j` of a retrieved passage's node, scored for the answer."""

    cos: float = 0.0  # cosine similarity of the sentence and the question
    j: int = 0


class SentenceReranker(BaseNodePostprocessor):
    """Sentence re-ranking as a llama-index node postprocessor: the retrieved passages'
    nodes (with their fused scores) in, one node per sentence out, best first (see the
    module's docstring for the score)."""

    _index = PrivateAttr()
    _settings = PrivateAttr()
    _intent = PrivateAttr()
    _words = PrivateAttr()
    _named = PrivateAttr()

    def __init__(self, index, settings: Settings, intent: Intent,
                 words: frozenset[str] = frozenset(), named: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._index, self._settings, self._intent = index, settings, intent
        self._words, self._named = words, frozenset(named)

    @classmethod
    def class_name(cls) -> str:
        return "SentenceReranker"

    def _postprocess_nodes(self, nodes: list[NodeWithScore],
                           query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        if query_bundle is None:
            raise ValueError("sentence re-ranking needs the query's embedding")
        index, w, intent = self._index, self._settings, self._intent
        vector = np.asarray(query_bundle.embedding, dtype=np.float32)
        asked = question_words(index, self._words)
        names = name_words(index) if intent.fact_kind == "person" else frozenset()
        out: list[SentenceNode] = []
        top = nodes[0].score if nodes else 1.0
        for n in nodes:
            row = index.by_id[n.node.node_id]
            p = index.passages[row]
            lo, hi = int(index.sentence_offsets[row]), int(index.sentence_offsets[row + 1])
            if hi <= lo:
                continue
            cos = index.sentence_vectors[lo:hi] @ vector
            penalty = w.footnote_penalty if p.kind is PassageKind.FOOTNOTE else 0.0
            named = w.named_document_bonus if p.doc_id in self._named else 0.0
            if p.kind is PassageKind.QUESTION and not intent.about_consultation:
                penalty += w.question_penalty
            text = index.documents[p.doc_id].text
            for j, c in enumerate(cos.tolist()):
                s, e = p.sentences[j]
                reference = w.reference_penalty if _REFERENCE.search(text, s, e) else 0.0
                fact = 0.0
                if states_fact(intent.fact_kind, text, p.sentences, j, names, self._words):
                    fact = w.fact_bonus
                    if intent.fact_kind == "date" and not to_the_day("date", text, p.sentences, j):
                        fact *= w.year_date_share
                lexical = w.sentence_lexical_weight * word_share(
                    asked, sentence_words(index, _with_referent(text, p.sentences, j)))
                score = (c + w.rank_weight * n.score / top + fact + lexical + named
                         - penalty - reference)
                out.append(SentenceNode(node=n.node, score=score, cos=c, j=j))
        out.sort(key=lambda x: -x.score)
        return out


def score_sentences(index, nodes, hits: list[Hit], query: Query, settings: Settings
                    ) -> list[ScoredSentence]:
    """Every sentence of the hits, best first, through `SentenceReranker`; `nodes` are the
    index's passage nodes (`fusion.PassageNodes`)."""
    hit_of = {h.passage.id: h for h in hits}
    bundle = QueryBundle(query_str=query.asked, embedding=query.vector.tolist())
    ranked = SentenceReranker(index, settings, query.intent, query.words,
                              query.named_docs).postprocess_nodes(
        [NodeWithScore(node=nodes.node(h.passage.id), score=h.score) for h in hits], bundle)
    return [ScoredSentence(s.score, s.cos, hit_of[s.node.node_id], s.j) for s in ranked]
