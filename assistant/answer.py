"""`Assistant.ask(question) -> Answer`: extract cited sentences, or refuse.

The answer is built only from sentences of the retrieved passages, each an exact substring
of its document's clean text and each followed by its [n] marker. A question whose best
evidence is too weak is refused, with the closest passages shown instead.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata

import numpy as np

from assistant.backends import load_data
from assistant.config import Settings
from assistant.errors import AssistantError, QuestionError, UnknownDocumentError
from assistant.index import IndexData
from assistant.objectives import (
    ObjectiveMapper,
    asks_for_fact,
    is_objective_question,
    named_number,
)
from assistant.refusal import unknown_specifics, vocabulary, years_in
from assistant.retrieval import Retriever
from assistant.types import Answer, Citation, Hit, ObjectiveMatch, Passage

logger = logging.getLogger(__name__)

REFUSAL = "The documents do not cover this question. The closest passages are listed below."
REFUSAL_SPECIFIC = ("The documents do not cover this question: they never mention {}. "
                    "The closest passages are listed below.")
_MARKER = re.compile(r"\s*\[(\d+)\]")
# a selected sentence must score within this margin of the best one
_MARGIN = 0.12
# An answer sentence must be at least this similar to the question (whatever the refusal
# threshold is set to).
_MIN_SENTENCE_COS = 0.33
# an objective leads the answer when the question is about objectives and it scores this
_OBJECTIVE_LEAD = 0.45
# ...and its text at most this much less similar to the question than the best sentence
# retrieved, unless its passage is among the first hits (see `_text_agrees`).
_LEAD_GAP = 0.25
_LEAD_WORDS = 90
# A sentence that introduces a list ("...under five headings:") is quoted with the list's
# items that follow it in its passage, up to this many words.
_LIST_WORDS = 120
_TERMINAL = (".", "?", "!", ".”", "?”", "!”", '."')
_CONSULTATION = re.compile(r"\bconsult|\bquestions?\b|\brespond", re.I)
_REFERENCE = re.compile(r"https?://|www\.")
_CHAPTER = re.compile(r"\bchapter\s+(\d{1,2})\b", re.I)


def clean_question(question: str, max_chars: int) -> str:
    """Return the question stripped of control characters; raise QuestionError if unusable."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    text = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"} else ch
        for ch in question
    )
    text = " ".join(text.split())
    if not text:
        raise QuestionError("The question is empty; type a question about the NHS documents.")
    if len(text) > max_chars:
        raise QuestionError(
            f"The question is {len(text):,} characters long; the limit is {max_chars:,}. "
            "Ask a shorter question."
        )
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("The question has no words in it; type a question in words.")
    return text


def split_answer(answer: str) -> list[tuple[str, int]]:
    """Return the (text, marker) segments of an answer: each piece of text and its [n]."""
    out, pos = [], 0
    for m in _MARKER.finditer(answer):
        out.append((answer[pos : m.start()].strip(), int(m.group(1))))
        pos = m.end()
    if answer[pos:].strip():
        out.append((answer[pos:].strip(), 0))
    return out


class Assistant:
    """A loaded index, model, retriever and objective mapper: safe to share between threads."""

    def __init__(self, settings: Settings | None = None, index: IndexData | None = None,
                 embedder=None) -> None:
        self.settings = settings or Settings.from_env()
        self.index = index or load_data(self.settings)
        if embedder is None:
            from assistant.embedding import get_embedder

            embedder = get_embedder(self.settings.resolved_model_path(), self.settings.batch_size)
        if embedder.dim != self.index.manifest.get("dimension"):
            raise AssistantError(
                f"The model gives {embedder.dim}-dimensional vectors but the index holds "
                f"{self.index.manifest.get('dimension')}; run `assistant ingest` to rebuild."
            )
        self.embedder = embedder
        self.mapper = ObjectiveMapper(self.index, embedder)
        self.retriever = Retriever(self.index, embedder, self.settings.rrf_k, self.mapper)
        docs = self.index.documents.values()
        self._vocab = vocabulary([d.text for d in docs] + [d.title for d in docs])
        self._known_years = set(years_in(" ".join(f"{d.title} {d.short_title} {d.date}"
                                                  for d in docs)))

    # -- public -------------------------------------------------------------------
    @property
    def doc_ids(self) -> list[str]:
        return list(self.index.documents)

    def check_docs(self, doc_ids: list[str] | None) -> list[str] | None:
        """Return the requested document ids, or raise naming the ones that do not exist."""
        if not doc_ids:
            return None
        unknown = [d for d in doc_ids if d not in self.index.documents]
        if unknown:
            raise UnknownDocumentError(
                f"Unknown document id {', '.join(repr(u) for u in unknown)}; "
                f"known ids: {', '.join(self.doc_ids)}."
            )
        return list(doc_ids)

    def check_k(self, k: int | None) -> int:
        k = self.settings.k if k is None else k
        total = len(self.index.passages)
        if k < 1:
            raise AssistantError(f"k={k} must be at least 1.")
        if k > total:
            raise AssistantError(
                f"k={k} is larger than the {total} passages in the index; use a smaller k."
            )
        return k

    def objectives(self, query: str, k: int = 5, doc_ids: list[str] | None = None
                   ) -> list[ObjectiveMatch]:
        """Return the objectives `query` falls under, best first."""
        query = clean_question(query, self.settings.max_question_chars)
        doc_ids = self.check_docs(doc_ids)
        return [self._objective_match(o, s) for o, s in self.mapper.rank(query, k, doc_ids)]

    def ask(self, question: str, k: int | None = None, doc_ids: list[str] | None = None
            ) -> Answer:
        """Answer one question with cited sentences, or refuse with the closest passages."""
        t0 = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        doc_ids = self.check_docs(doc_ids)
        k = self.check_k(k)
        vector = self.embedder.embed(question)
        t1 = time.perf_counter()
        ranked = self.mapper.rank(question, 5, doc_ids, vector)
        t2 = time.perf_counter()
        hits = self.retriever.search(question, k, doc_ids, vector, ranked)
        t3 = time.perf_counter()
        scored = self._score_sentences(hits, vector, question)
        number = named_number(question)
        named = [o for o, _ in ranked if number is not None and o.number == number]
        best, missing = self._judge(question, hits, scored)
        refused = not named and (best < self.settings.refusal_threshold or bool(missing))
        if refused:
            text = REFUSAL_SPECIFIC.format(", ".join(missing)) if missing else REFUSAL
            answer = Answer(question=question, answer=text, refused=True,
                            closest=self._closest(hits, scored))
        else:
            lead = None
            if named:
                lead = named[0]
            elif (ranked and is_objective_question(question) and not asks_for_fact(question)
                  and not _CONSULTATION.search(question) and ranked[0][1] >= _OBJECTIVE_LEAD
                  and self._text_agrees(ranked[0][0], hits, scored, vector)):
                lead = ranked[0][0]
            listing = self._chapter_objectives(question, doc_ids)
            if listing:
                citations = [self._cite_objective(i, o, 1.0, max_words=1)
                             for i, o in enumerate(listing, start=1)]
                ranked = [(o, 1.0) for o in listing]
            else:
                citations = self._compose(vector, scored, lead)
            text = " ".join(f"{c.quote} [{c.marker}]" for c in citations)
            shown = ranked if listing else ranked[:3]
            answer = Answer(question=question, answer=text, refused=False, citations=citations,
                            objectives=[self._objective_match(o, s) for o, s in shown])
        t4 = time.perf_counter()
        answer.read_as = self.mapper.glossary.terms(question)
        answer.timings_ms = {
            "embed": round((t1 - t0) * 1000, 2),
            "objectives": round((t2 - t1) * 1000, 2),
            "retrieve": round((t3 - t2) * 1000, 2),
            "compose": round((t4 - t3) * 1000, 2),
            "total": round((t4 - t0) * 1000, 2),
        }
        return answer

    def evidence(self, question: str, k: int | None = None) -> tuple[float, list[str]]:
        """Return what the refusal decision sees for a question (see `_judge`)."""
        question = clean_question(question, self.settings.max_question_chars)
        vector = self.embedder.embed(question)
        hits = self.retriever.search(question, self.check_k(k), None, vector)
        return self._judge(question, hits, self._score_sentences(hits, vector, question))

    # -- internals ----------------------------------------------------------------
    def _objective_match(self, o, score: float) -> ObjectiveMatch:
        return ObjectiveMatch(id=o.id, doc_id=o.doc_id, number=o.number, title=o.title,
                              score=round(score, 4))

    def _judge(self, question: str, hits: list[Hit], scored) -> tuple[float, list[str]]:
        """The best sentence similarity among the retrieved passages, and the specifics the
        question names that the documents lack: the two tests of `assistant.refusal`.

        A question with everyday phrases from the glossary is also read with their policy
        terms ("bedsores" as patient safety), and the better similarity counts."""
        best = max((cos for _, cos, *_ in scored), default=0.0)
        expanded = self.mapper.glossary.expand(question)
        if expanded != question and hits:
            best = max(best, self._best_sentence_cos(hits, self.embedder.embed(expanded)))
        return best, unknown_specifics(question, hits, self._vocab, self._known_years)

    def _best_sentence_cos(self, hits: list[Hit], vector: np.ndarray) -> float:
        ix = self.index
        rows = [ix.by_id[h.passage.id] for h in hits]
        spans = [np.arange(ix.sentence_offsets[r], ix.sentence_offsets[r + 1]) for r in rows]
        sentences = np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
        return float((ix.sentence_vectors[sentences] @ vector).max()) if len(sentences) else 0.0

    def _text_agrees(self, objective, hits: list[Hit], scored, vector: np.ndarray) -> bool:
        """Whether the retrieved text backs an objective as the answer's lead: its passage is
        among the first three hits, or its text is nearly as close to the question as the
        best retrieved sentence. "Which five headings are the objectives grouped under?"
        names objectives but is answered by a sentence that lists headings."""
        if any(h.passage.id == objective.passage_id for h in hits[:3]):
            return True
        best = max((cos for _, cos, *_ in scored), default=0.0)
        return self.mapper.similarity(objective, vector) >= best - _LEAD_GAP

    def _chapter_objectives(self, question: str, doc_ids: list[str] | None):
        """The objectives of chapter N, in order, when the question asks for them."""
        m = _CHAPTER.search(question)
        if not m or not is_objective_question(question):
            return []
        prefix = f"{int(m.group(1))}."
        return [o for o in self.index.objectives
                if o.section.startswith(prefix) and (not doc_ids or o.doc_id in doc_ids)]

    def _score_sentences(self, hits: list[Hit], vector: np.ndarray, question: str = ""):
        """Return (score, cosine, hit, sentence index) for every sentence of the hits.

        The score is the cosine, plus a little weight from the passage's fused rank, less a
        little for sentences that make poor answers: references (a web address), footnotes,
        and consultation questions when the user is not asking about the consultation.
        """
        ix = self.index
        out = []
        top = hits[0].score if hits else 1.0
        about_consultation = bool(_CONSULTATION.search(question))
        for hit in hits:
            p = hit.passage
            row = ix.by_id[p.id]
            lo, hi = int(ix.sentence_offsets[row]), int(ix.sentence_offsets[row + 1])
            if hi <= lo:
                continue
            cos = ix.sentence_vectors[lo:hi] @ vector
            penalty = 0.03 if p.kind == "footnote" else 0.0
            if p.kind == "question" and not about_consultation:
                penalty += 0.1
            text = ix.documents[p.doc_id].text
            for j, c in enumerate(cos.tolist()):
                s, e = p.sentences[j]
                reference = 0.15 if _REFERENCE.search(text, s, e) else 0.0
                out.append((c + 0.1 * hit.score / top - penalty - reference, c, hit, j))
        out.sort(key=lambda x: -x[0])
        return out

    def _cite(self, marker: int, p: Passage, start: int, end: int, score: float) -> Citation:
        doc = self.index.documents[p.doc_id]
        return Citation(marker=marker, doc_id=p.doc_id, title=doc.title, section=p.section,
                        paragraph=p.paragraph, page=doc.page_at(start),
                        quote=doc.text[start:end], score=round(float(score), 4),
                        passage_id=p.id, start=start, end=end)

    def _lead_span(self, p: Passage, max_words: int = _LEAD_WORDS) -> tuple[int, int]:
        """The objective's own text, ending at the sentence that reaches max_words words."""
        text = self.index.documents[p.doc_id].text
        if not p.sentences:
            return p.body_start, p.end
        start, end = p.sentences[0][0], p.sentences[-1][1]
        for _, e in p.sentences:
            if len(text[start:e].split()) >= max_words:
                end = e
                break
        while start < end and text[start] in "\u2022\u00b7* ":
            start += 1
        return start, end

    def _cite_objective(self, marker: int, objective, score: float,
                        max_words: int = _LEAD_WORDS) -> Citation:
        """A citation quoting an objective's own text (see `_lead_span`)."""
        p = self.index.passage(objective.passage_id)
        return self._cite(marker, p, *self._lead_span(p, max_words), score)

    def _compose(self, vector: np.ndarray, scored, lead) -> list[Citation]:
        citations: list[Citation] = []
        used_passages: set[str] = set()
        if lead is not None:
            citations.append(self._cite_objective(1, lead, self.mapper.similarity(lead, vector)))
            used_passages.add(lead.passage_id)
        if not scored:
            return citations
        best = scored[0][0]
        chosen: list[tuple[float, float, Hit, int]] = []
        per_passage: dict[str, int] = {}
        limit = self.settings.answer_sentences - len(citations)
        for item in scored:
            score, cos, hit, j = item
            if len(chosen) >= limit:
                break
            if score < best - _MARGIN or cos < _MIN_SENTENCE_COS:
                break
            pid = hit.passage.id
            if pid in used_passages or per_passage.get(pid, 0) >= 2:
                continue
            if lead is not None and pid not in lead.intro_passage_ids:
                continue  # after an objective, only the narrative that introduces it
            per_passage[pid] = per_passage.get(pid, 0) + 1
            chosen.append(item)
        # sentences of one passage that sit next to each other become one quote
        groups: list[list[tuple[float, float, Hit, int]]] = []
        for item in chosen:
            for g in groups:
                if g[0][2].passage.id == item[2].passage.id and any(
                        abs(x[3] - item[3]) == 1 for x in g):
                    g.append(item)
                    break
            else:
                groups.append([item])
        for g in groups:
            g.sort(key=lambda x: x[3])
            p = g[0][2].passage
            last = self._list_end(p, g[-1][3])
            s, e = p.sentences[g[0][3]][0], p.sentences[last][1]
            citations.append(self._cite(len(citations) + 1, p, s, e, max(x[1] for x in g)))
        return citations

    def _list_end(self, p: Passage, j: int) -> int:
        """The last sentence to quote with sentence j: j itself, or, when j leads into a list
        (it ends with a colon, or breaks off without a full stop as in "the four tests that
        there is"), the list's items that follow it in the passage, up to the item that
        closes with a full stop and within `_LIST_WORDS` words."""
        text = self.index.documents[p.doc_id].text
        sentence = text[slice(*p.sentences[j])].rstrip()
        if not (sentence.endswith(":") or not sentence.endswith(_TERMINAL)):
            return j
        words, end = 0, j
        for k in range(j + 1, len(p.sentences)):
            item = text[slice(*p.sentences[k])].rstrip()
            words += len(item.split())
            if words > _LIST_WORDS:
                break
            end = k
            if item.endswith(_TERMINAL):
                break
        return end

    def _closest(self, hits: list[Hit], scored) -> list[Citation]:
        best_sentence: dict[str, tuple[float, int]] = {}
        for _, cos, hit, j in scored:
            if hit.passage.id not in best_sentence:
                best_sentence[hit.passage.id] = (cos, j)
        out = []
        for hit in hits[:3]:
            p = hit.passage
            if p.id in best_sentence:
                cos, j = best_sentence[p.id]
                s, e = p.sentences[j]
            else:
                cos, (s, e) = hit.dense, (p.body_start, p.end)
            out.append(self._cite(len(out) + 1, p, s, e, cos))
        return out
