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

from assistant.answer import compose
from assistant.answer.compose import Composer
from assistant.answer.followup import resolve
from assistant.answer.judge import unknown_specifics, vocabulary, years_in
from assistant.config import Settings
from assistant.errors import AssistantError, QuestionError, UnknownDocumentError
from assistant.search.backends import load_data
from assistant.search.index import IndexData
from assistant.search.objectives import (
    ObjectiveMapper,
    asks_for_fact,
    is_objective_question,
    named_number,
)
from assistant.search.provisions import ProvisionRanker, listed_provisions, merge, provision_match
from assistant.search.retrieve import Retriever
from assistant.types import (
    Answer,
    Citation,
    Hit,
    ObjectiveMatch,
    Passage,
    ProvisionKind,
    ProvisionMatch,
)

logger = logging.getLogger(__name__)

REFUSAL = "The documents do not cover this question. The closest passages are listed below."
REFUSAL_SPECIFIC = ("The documents do not cover this question: they never mention {}. "
                    "The closest passages are listed below.")
_MARKER = re.compile(r"\s*\[(\d+)\]")
# an objective leads the answer when the question is about objectives and it scores this
_OBJECTIVE_LEAD = 0.45
# ...and its text at most this much less similar to the question than the best sentence
# retrieved, unless its passage is among the first hits (see `_text_agrees`).
_LEAD_GAP = 0.25
_CONSULTATION = re.compile(r"\bconsult|\bquestions?\b|\brespond", re.I)
_REFERENCE = re.compile(r"https?://|www\.")
_CHAPTER = re.compile(r"\bchapter\s+(\d{1,2})\b", re.I)
# sentences of the whole corpus a question for one fact is also matched against
_FACT_SENTENCES = 8
# ...and a sentence that states the kind of fact asked for (a date for "when") gains this
_FACT_BONUS = 0.06
# "What is the consultation asking me?": the consultation's questions, listed whole, when
# nothing but these words frames the question
_ASKS_QUESTIONS = re.compile(r"\b(questions?|ask(?:s|ing|ed)?)\b", re.I)
_LIST_FRAME = set("""what which are is the a of does do did me us i we you being this
consultation consultations questions question ask asks asking asked all list there
people respondents answer to in on for mandate draft""".split())


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


def answer_lead(answer: str) -> str:
    """The answer's lead line ("The documents say:"), or "" when it has none."""
    first = answer.split("\n", 1)[0].strip()
    return first if "\n" in answer and first.endswith(":") and not _MARKER.search(first) else ""


def split_answer(answer: str) -> list[tuple[str, int]]:
    """Return the (text, marker) segments of an answer: each quoted sentence or list item
    and its [n]; the lead line, which names where the quotes come from, and the "- " that
    opens a list item are not part of any segment."""
    lead = answer_lead(answer)
    body = answer.split("\n", 1)[1] if lead else answer
    out, pos = [], 0
    for m in _MARKER.finditer(body):
        out.append((_bullet(body[pos : m.start()]), int(m.group(1))))
        pos = m.end()
    if body[pos:].strip():
        out.append((_bullet(body[pos:]), 0))
    return out


def _span(p: Passage) -> tuple[int, int]:
    """A passage's own sentences, without its heading or number."""
    return (p.sentences[0][0], p.sentences[-1][1]) if p.sentences else (p.body_start, p.end)


def _bullet(text: str) -> str:
    text = text.strip()
    return text[2:].strip() if text.startswith("- ") else text


class Assistant:
    """A loaded index, model, retriever and objective mapper: safe to share between threads."""

    def __init__(self, settings: Settings | None = None, index: IndexData | None = None,
                 embedder=None) -> None:
        self.settings = settings or Settings.from_env()
        self.index = index or load_data(self.settings)
        if embedder is None:
            from assistant.search.embed import embedder_for

            embedder = embedder_for(self.settings)
        if embedder.dim != self.index.manifest.get("dimension"):
            raise AssistantError(
                f"The model gives {embedder.dim}-dimensional vectors but the index holds "
                f"{self.index.manifest.get('dimension')}; run `assistant ingest` to rebuild."
            )
        self.embedder = embedder
        self.mapper = ObjectiveMapper(self.index, embedder)
        self.composer = Composer(self.index, self.mapper, self.settings)
        self.retriever = Retriever(self.index, embedder, self.settings.rrf_k, self.mapper)
        self.provision_ranker = ProvisionRanker(self.index)
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

    def provisions(self, query: str, k: int = 5, doc_ids: list[str] | None = None
                   ) -> list[ProvisionMatch]:
        """Return the provisions of every kind `query` falls under (objectives, rights,
        pledges, principles...), best first."""
        query = clean_question(query, self.settings.max_question_chars)
        doc_ids = self.check_docs(doc_ids)
        vector = self.embedder.embed(query)
        ranked = self.mapper.rank(query, 5, doc_ids, vector)
        return self._provisions(query, vector, ranked, doc_ids, [], k)

    def ask(self, question: str, k: int | None = None, doc_ids: list[str] | None = None,
            history: list[dict] | None = None) -> Answer:
        """Answer one question with cited sentences, or refuse with the closest passages.

        `history` holds the conversation's earlier turns, oldest first, each a dict with
        "question" (and "answer"); a follow-up that leans on them ("and for children?") is
        read with them, and `Answer.read_with_history` says how."""
        t0 = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        doc_ids = self.check_docs(doc_ids)
        k = self.check_k(k)
        read = resolve(question, history) if history else None
        asked = read or question
        vector = self.embedder.embed(asked)
        t1 = time.perf_counter()
        ranked = self.mapper.rank(asked, 5, doc_ids, vector)
        t2 = time.perf_counter()
        echo = self._echoed_question(asked, doc_ids)
        if echo is not None:
            hits = self._about_question(echo, asked, k, vector)
        else:
            hits = self.retriever.search(asked, k, doc_ids, vector, ranked)
        pool = hits
        if asks_for_fact(asked):
            pool = hits + self.retriever.sentence_hits(vector, _FACT_SENTENCES, doc_ids,
                                                       {h.passage.id for h in hits})
        t3 = time.perf_counter()
        scored = self._score_sentences(pool, vector, asked)
        number = named_number(asked)
        named = [o for o, _ in ranked if number is not None and o.number == number]
        in_hits = {h.passage.id for h in hits}
        best, missing = self._judge(asked, hits,
                                    [x for x in scored if x[2].passage.id in in_hits])
        refused = not named and (best < self.settings.refusal_threshold or bool(missing))
        if refused:
            text = REFUSAL_SPECIFIC.format(", ".join(missing)) if missing else REFUSAL
            answer = Answer(question=question, answer=text, refused=True,
                            closest=self._closest(hits, scored))
        else:
            answer = self._answer(question, asked, doc_ids, vector, ranked, named, hits,
                                  scored)
            if not answer.citations:  # nothing quotable cleared the bar: no answer to give
                answer = Answer(question=question, answer=REFUSAL, refused=True,
                                closest=self._closest(hits, scored))
        if not answer.refused:
            answer.provisions = self._provisions(asked, vector, ranked, doc_ids,
                                                 [c.passage_id for c in answer.citations])
        t4 = time.perf_counter()
        answer.read_as = self.mapper.glossary.terms(asked)
        answer.read_with_history = read
        answer.timings_ms = {
            "embed": round((t1 - t0) * 1000, 2),
            "objectives": round((t2 - t1) * 1000, 2),
            "retrieve": round((t3 - t2) * 1000, 2),
            "compose": round((t4 - t3) * 1000, 2),
            "total": round((t4 - t0) * 1000, 2),
        }
        return answer

    def _answer(self, question: str, asked: str, doc_ids, vector, ranked, named, hits,
                scored) -> Answer:
        """The composed answer: a lead line, then the cited quotes (assistant.answer.compose)."""
        lead = None
        if named:
            lead = named[0]
        elif (ranked and is_objective_question(asked) and not asks_for_fact(asked)
              and not _CONSULTATION.search(asked) and ranked[0][1] >= _OBJECTIVE_LEAD
              and self._text_agrees(ranked[0][0], hits, scored, vector)):
            lead = ranked[0][0]
        threshold = self.settings.falls_under_threshold
        listing = self._chapter_objectives(asked, doc_ids)
        questions = [] if listing else self._listed_questions(asked, doc_ids)
        kind_list = [] if listing or questions else listed_provisions(
            asked, self.index.provisions, doc_ids)
        if listing:
            citations = [self.composer.cite_objective(i, o, 1.0, max_words=1)
                         for i, o in enumerate(listing, start=1)]
            ranked = [(o, 1.0) for o in listing]
            doc = self.index.documents[listing[0].doc_id]
            chapter = listing[0].section.split(".", 1)[0]
            head = compose.listing_lead(f"objectives of chapter {chapter}", len(listing),
                                        doc.short_title)
        elif questions:
            citations = [self.composer.cite(i, p, *_span(p), 1.0)
                         for i, p in enumerate(questions, start=1)]
            doc = self.index.documents[questions[0].doc_id]
            head = compose.listing_lead("consultation questions", len(questions),
                                        doc.short_title)
        elif kind_list:
            rows = [self.index.passage(p.passage_id) for p in kind_list]
            citations = [self.composer.cite(i, p, *_span(p), 1.0)
                         for i, p in enumerate(rows, start=1)]
            head = compose.GENERIC_LEAD
        else:
            citations = self.composer.compose(vector, scored, lead)
            if lead is None:
                lead = self.composer.cited_objective(citations, ranked, threshold)
            elif not named and dict((o.id, s) for o, s in ranked)[lead.id] < threshold:
                lead = None  # quoted first, but not named as the one that covers it
            head = compose.GENERIC_LEAD
            if lead is not None:
                head = compose.objective_lead(
                    lead.number, self.index.documents[lead.doc_id].short_title)
        shown = ranked if listing else ranked[:3]
        matches = [self._objective_match(o, s, falls_under=bool(listing) or s >= threshold)
                   for o, s in shown]
        text = self.composer.render(citations, head,
                                    bullets=bool(listing or questions or kind_list))
        return Answer(question=question, answer=text,
                      refused=False, citations=citations, objectives=matches, lead=head)

    def evidence(self, question: str, k: int | None = None) -> tuple[float, list[str]]:
        """Return what the refusal decision sees for a question (see `_judge`)."""
        question = clean_question(question, self.settings.max_question_chars)
        vector = self.embedder.embed(question)
        hits = self.retriever.search(question, self.check_k(k), None, vector)
        return self._judge(question, hits, self._score_sentences(hits, vector, question))

    # -- internals ----------------------------------------------------------------
    def _provisions(self, question: str, vector: np.ndarray, ranked, doc_ids: list[str] | None,
                    cited: list[str], k: int = 5) -> list[ProvisionMatch]:
        """Up to k provisions of every kind the question falls under, best first."""
        by_passage = {p.passage_id: p for p in self.index.provisions
                      if p.kind is ProvisionKind.OBJECTIVE}
        objectives = [(by_passage[o.passage_id], s) for o, s in ranked[:3]
                      if o.passage_id in by_passage]
        others = self.provision_ranker.rank(vector, k, doc_ids)
        known = {p.id for p, _ in others}
        by_id = {p.passage_id: p for p in self.provision_ranker.provisions}
        others += [(by_id[c], float(self.index.passage_vectors[self.index.by_id[c]] @ vector))
                   for c in cited if c in by_id and by_id[c].id not in known]
        merged = merge(objectives, others, is_objective_question(question), cited, k)
        return [provision_match(p, s) for p, s in merged]

    def _objective_match(self, o, score: float, falls_under: bool = False
                         ) -> ObjectiveMatch:
        return ObjectiveMatch(id=o.id, doc_id=o.doc_id, number=o.number, title=o.title,
                              score=round(score, 4), falls_under=falls_under)

    def _listed_questions(self, asked: str, doc_ids: list[str] | None) -> list[Passage]:
        """The consultation questions, in order, when the question asks what they are."""
        if not (_CONSULTATION.search(asked) and _ASKS_QUESTIONS.search(asked)):
            return []
        if any(w not in _LIST_FRAME for w in re.findall(r"[a-z]+", asked.lower())):
            return []
        return [self.index.passage(q.passage_id) for q in self.index.questions
                if (not doc_ids or q.doc_id in doc_ids) and q.passage_id in self.index.by_id]

    def _echoed_question(self, asked: str, doc_ids: list[str] | None):
        """The consultation question that `asked` repeats word for word, if any."""
        norm = " ".join(re.findall(r"[a-z0-9]+", asked.lower()))
        for q in self.index.questions:
            text = " ".join(re.findall(r"[a-z0-9]+", q.text.lower()))
            if text and norm.endswith(text) and (not doc_ids or q.doc_id in doc_ids):
                return q
        return None

    def _about_question(self, q, asked: str, k: int, vector: np.ndarray) -> list[Hit]:
        """The passages that bear on consultation question q: its document's paragraphs
        and objectives, those of its chapter first; never the questions themselves."""
        n = min(len(self.index.passages), max(4 * k, 20))
        hits = [h for h in self.retriever.search(asked, n, [q.doc_id], vector)
                if h.passage.kind != "question"]
        chapter = (q.chapter or "").strip()
        hits.sort(key=lambda h: h.passage.section.split(" > ")[0].strip() != chapter)
        return hits[:k]

    def _judge(self, question: str, hits: list[Hit], scored) -> tuple[float, list[str]]:
        """The best sentence similarity among the retrieved passages, and the specifics the
        question names that the documents lack: the two tests of `assistant.answer.judge`.

        The similarity is the question's own: the glossary's policy terms help choose which
        passages are retrieved, but never count as evidence that the documents answer it,
        or any question with an everyday word in it ("app", "weekend") would gain evidence
        from the words the glossary added."""
        best = max((cos for _, cos, *_ in scored), default=0.0)
        return best, unknown_specifics(question, hits, self._vocab, self._known_years)

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
        kind = compose.fact_kind(question) if asks_for_fact(question) else None
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
                fact = _FACT_BONUS if compose.carries(kind, text[s:e]) else 0.0
                out.append((c + 0.1 * hit.score / top + fact - penalty - reference, c, hit, j))
        out.sort(key=lambda x: -x[0])
        return out

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
            out.append(self.composer.cite(len(out) + 1, p, s, e, cos))
        return out
