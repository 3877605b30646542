"""Quotes from chosen sentences: whole sentences, their referents, whole lists, one
citation per quote (`Quoter`); the answer text they make is written in the form of
`assistant.answer.form`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answer.form import is_item, leans_back, opens_list, render_text
from assistant.config import Settings
from assistant.search.sentences import (
    carries,
    is_dateline,
    name_words,
    question_words,
    sentence_words,
    states_fact,
    word_share,
)
from assistant.text import BACK_REFERENCE
from assistant.types import Citation, Passage, ScoredSentence

# the mark that opens the next list item, left at the end of the sentence before it
_TRAILING_MARK = re.compile(r"\s+[\u2022\u00b7*\u2013\u2014-]?\s*$")


@dataclass
class Span:
    """Sentences a..b (inclusive) of one passage, quoted together."""

    passage: Passage
    a: int
    b: int
    score: float
    # where the quote starts and ends when not at sentences a and b: at the passage's
    # heading when that is the lead-in ("The NHS also commits:") of the list item it holds
    lo: int | None = None
    hi: int | None = None

    def start(self) -> int:
        return self.passage.sentences[self.a][0] if self.lo is None else self.lo

    def end(self) -> int:
        return self.passage.sentences[self.b][1] if self.hi is None else self.hi


def sentence(text: str, p: Passage, j: int) -> str:
    return text[slice(*p.sentences[j])].strip()


def widen(text: str, p: Passage, j: int, list_end) -> tuple[int, int, bool]:
    """The whole quote sentence j needs: back to the sentence it refers to (or the list's
    opening sentence), and on to the end of a list it opens. Returns (a, b, dangling):
    dangling when the passage's first sentence still leans back."""
    a = j
    while a > 0 and leans_back(sentence(text, p, a)):
        a -= 1
    first = sentence(text, p, a)
    b = max(j, list_end(p, a), list_end(p, j))
    return a, b, leans_back(first)


def with_fact(text: str, p: Passage, a: int, b: int, kind: str,
              names: frozenset[str] = frozenset()) -> tuple[int, int]:
    """Sentences a..b widened to the neighbours that state the kind of fact asked for: the
    next sentence when it refers back to them ("This will increase to around 18 million
    by 2025/30."), and, when they state no such fact, the dateline just before them
    ("13 November 2012", for a question asking when), else the sentence of the paragraph
    just before or after them that states it ("The Health and Social Care Act 2012 ...",
    before "In line with the new requirements in the Act, ...")."""
    if b + 1 < len(p.sentences):
        after = sentence(text, p, b + 1)
        if BACK_REFERENCE.match(after) and carries(kind, after, names):
            b += 1
    if any(carries(kind, sentence(text, p, i), names) for i in range(a, b + 1)):
        return a, b
    if a > 0 and is_dateline(kind, sentence(text, p, a - 1)):
        return a - 1, b
    if a > 0 and carries(kind, sentence(text, p, a - 1), names) and not is_item(
            sentence(text, p, a - 1)) and not leans_back(sentence(text, p, a - 1)):
        return a - 1, b
    if b + 1 < len(p.sentences) and carries(kind, sentence(text, p, b + 1), names) \
            and not opens_list(sentence(text, p, b + 1)):
        return a, b + 1
    return a, b


def place(spans: list[Span], found: list[Span]) -> None:
    """Add the spans of one choice (a referent, then the sentence that needs it) to
    `spans`: a span that overlaps or touches one of its passage's merges into it, and the
    referent goes right before the sentence that needs it."""
    at = len(spans)
    for s in reversed(found):
        o = next((o for o in spans if o.passage.id == s.passage.id
                  and s.a <= o.b + 1 and o.a <= s.b + 1), None)
        if o is not None:
            lo, hi = min(o.start(), s.start()), max(o.end(), s.end())
            o.a, o.b, o.score = min(o.a, s.a), max(o.b, s.b), max(o.score, s.score)
            o.lo = None if lo == o.passage.sentences[o.a][0] else lo
            o.hi = None if hi == o.passage.sentences[o.b][1] else hi
            at = min(at, spans.index(o))
        else:
            spans.insert(at, Span(s.passage, s.a, s.b, s.score, s.lo, s.hi))


def words(text: str, span: Span) -> int:
    return len(text[span.start():span.end()].split())


def lead_in(text: str, p: Passage) -> int | None:
    """Where the passage's heading ends when it introduces a list ("The NHS also
    commits:"), so that a list item opening the passage is quoted with it; else None."""
    if p.body_start <= p.start or not p.sentences:
        return None
    head = _TRAILING_MARK.sub("", text[p.start:p.sentences[0][0]])
    return p.start + len(head) if head.endswith(":") else None


def quote_sentences(text: str, p: Passage, start: int, end: int) -> list[str]:
    """The quote [start, end) of passage p cut at its sentences: each piece runs to where
    the next sentence starts, so what lies between sentences (a footnote mark) is kept."""
    cuts = sorted({max(s, start) for s, e in p.sentences if s < end and e > start})
    head = _TRAILING_MARK.sub("", text[start:cuts[0]]) if cuts else ""
    # what precedes the first sentence belongs to it (a footnote mark), unless it is a
    # list's lead-in ("The NHS also commits:"), which is a sentence of its own
    cuts = [start, *cuts[(0 if head.endswith(":") else 1):]]
    pieces = [_TRAILING_MARK.sub("", text[a:b])
              for a, b in zip(cuts, [*cuts[1:], end], strict=True)]
    return [x for x in pieces if x.strip()] or [text[start:end]]


def passage_span(p: Passage) -> tuple[int, int]:
    """A passage's own sentences, without its heading or number."""
    return (p.sentences[0][0], p.sentences[-1][1]) if p.sentences else (p.body_start, p.end)


class Quoter:
    """Turns scored sentences into citations and the answer text, over one loaded index."""

    def __init__(self, index, settings: Settings) -> None:
        self.index = index
        self.answer_sentences = settings.answer_sentences
        # at most this many words of quotes, unless a list was asked for
        self.answer_words = settings.answer_words
        # a quoted sentence scores within this margin of the best one and is at least
        # this similar to the question (whatever the refusal threshold is set to)
        self.margin = settings.sentence_margin
        self.fact_margin = settings.fact_margin
        self.min_cos = settings.min_sentence_cos
        # ...or holds enough of the question's rarer words to make up the difference
        self.lexical_weight = settings.sentence_lexical_weight
        # an objective's own text is quoted up to the sentence that reaches this many words
        self.lead_words = settings.lead_words
        # A sentence that introduces a list ("...under five headings:") is quoted with the
        # list's items that follow it in its passage, up to this many words.
        self.list_words = settings.list_words

    def cited_objective(self, citations: list[Citation], ranked, threshold: float):
        """An objective the question falls under whose own passage is quoted: it moves
        first and names the lead; None when there is none."""
        for o, s in ranked:
            if s < threshold:
                break
            at = next((i for i, c in enumerate(citations) if c.passage_id == o.passage_id),
                      None)
            if at is not None:
                citations.insert(0, citations.pop(at))
                for i, c in enumerate(citations, start=1):
                    c.marker = i
                return o
        return None

    def render(self, citations: list[Citation], head: str, bullets: bool = False) -> str:
        quotes = []
        for c in citations:
            p = self.index.passage(c.passage_id)
            text = self.index.documents[c.doc_id].text
            quotes.append((c.marker, quote_sentences(text, p, c.start, c.end)))
        return render_text(quotes, head, bullets)

    def cite(self, marker: int, p: Passage, start: int, end: int, score: float) -> Citation:
        doc = self.index.documents[p.doc_id]
        return Citation(marker=marker, doc_id=p.doc_id, title=doc.title, section=str(p.section),
                        paragraph=p.paragraph, page=doc.page_at(start),
                        quote=doc.text[start:end], score=round(float(score), 4),
                        passage_id=p.id, start=start, end=end)

    def lead_span(self, p: Passage, max_words: int | None = None) -> tuple[int, int]:
        """The objective's own text, ending at the sentence that reaches max_words words
        (`Settings.lead_words` unless given)."""
        max_words = self.lead_words if max_words is None else max_words
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

    def cite_objective(self, marker: int, objective, score: float,
                        max_words: int | None = None) -> Citation:
        """A citation quoting an objective's own text (see `_lead_span`)."""
        p = self.index.passage(objective.passage_id)
        return self.cite(marker, p, *self.lead_span(p, max_words), score)

    def related(self, asked: dict[str, float], cos: float, hit, j: int) -> bool:
        """Whether a sentence is close enough to the question to be quoted: its cosine,
        with the share of the question's words it holds, reaches `min_sentence_cos`."""
        if cos >= self.min_cos:
            return True
        p = hit.passage
        text = self.index.documents[p.doc_id].text[slice(*p.sentences[j])]
        held = sentence_words(self.index, text)
        return cos + self.lexical_weight * word_share(asked, held) >= self.min_cos

    def quote(self, scored: list[ScoredSentence], lead, lead_score: float = 0.0,
              asked_words: frozenset[str] = frozenset(), fact_kind: str | None = None,
              yes_no: bool = False, named: tuple[str, ...] = ()) -> list[Citation]:
        """The lead objective's text (if any), then the best sentences as whole quotes: each
        with the sentence it refers back to and the whole list it opens, quotes of one
        passage merged, no quote repeated, within about `Settings.answer_words` words; and
        its neighbours (`with_neighbours`) within the margin (`fact_margin` for a yes/no).
        A sentence stating the fact asked for in a document the question names (`named`)
        is close enough whatever its words ("Date approved 14 March 2023")."""
        asked = question_words(self.index, asked_words)
        citations: list[Citation] = []
        used_passages: set[str] = set()
        if lead is not None:
            citations.append(self.cite_objective(1, lead, lead_score))
            used_passages.add(lead.passage_id)
        if not scored:
            return citations
        best = scored[0][0]
        stated: set[tuple[str, int]] = set()  # the sentences that state the fact asked for
        if fact_kind is not None:
            scored, stated = self.facts_first(scored, best - self.margin,
                                              best - self.fact_margin, fact_kind, asked_words)
        spans: list[Span] = []
        per_passage: dict[str, int] = {}
        score_of = {(s.hit.passage.id, s.j): s.score for s in scored}
        limit = self.answer_sentences - len(citations)
        budget = self.answer_words - sum(len(c.quote.split()) for c in citations)
        for i, (score, cos, hit, j) in enumerate(scored):
            if len(per_passage) >= limit or sum(per_passage.values()) >= limit:
                break
            fact = (hit.passage.id, j) in stated
            if score < best - (self.fact_margin if fact else self.margin) or not (
                    self.related(asked, cos, hit, j) or fact and hit.passage.doc_id in named):
                if fact:
                    continue  # the others, ranked after the facts, may still be quoted
                break
            pid = hit.passage.id
            if any(sp.passage.id == pid and sp.a <= j <= sp.b for sp in spans):
                continue  # quoted already, with a sentence chosen before it
            if pid in used_passages or per_passage.get(pid, 0) >= 2:
                continue
            if lead is not None and pid not in lead.intro_passage_ids:
                continue  # after an objective, only the narrative that introduces it
            found = self.whole(hit.passage, j, cos, fact_kind)
            if found is None:
                if not spans and i + 1 < len(scored):
                    best = scored[i + 1][0]  # the margin runs from the best quotable one
                continue
            # the sentence that settles a yes or no may score well below the closest one
            near = best - (self.fact_margin if yes_no else self.margin)
            for choice in (self.with_neighbours(found, score_of, near), found):
                size = sum(words(self.index.documents[x.passage.doc_id].text, x)
                           for x in choice)
                if not (spans or citations) or size <= budget:
                    budget -= size
                    per_passage[pid] = per_passage.get(pid, 0) + 1
                    place(spans, choice)
                    break
        return self.cite_spans(spans, citations)

    def cite_spans(self, spans: list[Span], citations: list[Citation]) -> list[Citation]:
        """`citations` and one more for each span whose words are not quoted already."""
        seen = [c.quote for c in citations]
        for sp in spans:
            p = sp.passage
            s, e = sp.start(), sp.end()
            quote = self.index.documents[p.doc_id].text[s:e]
            if any(quote in q for q in seen):
                continue  # the same words are quoted already
            seen.append(quote)
            citations.append(self.cite(len(citations) + 1, p, s, e, sp.score))
        return citations

    def with_neighbours(self, found: list[Span], score_of: dict[tuple[str, int], float],
                        floor: float) -> list[Span]:
        """The quote of a chosen sentence (the last span of `found`) with the sentences
        just before and after it in its passage that score at least `floor`: the answer
        reads on in the document's order ("... ability to pay. NHS services are free ...")."""
        span = found[-1]
        p, a, b = span.passage, span.a, span.b
        text = self.index.documents[p.doc_id].text
        if span.lo is None and a > 0 and score_of.get((p.id, a - 1), floor - 1) >= floor \
                and not leans_back(sentence(text, p, a - 1)) \
                and not opens_list(sentence(text, p, a - 1)):  # nor a heading, nor a lead-in
            a -= 1
        if span.hi is None and b + 1 < len(p.sentences) and score_of.get(
                (p.id, b + 1), floor - 1) >= floor and not opens_list(sentence(text, p, b + 1)):
            b += 1
        return [*found[:-1], Span(p, a, b, span.score, span.lo, span.hi)]

    def facts_first(self, scored: list[ScoredSentence], floor: float, fact_floor: float,
                    kind: str, asked: frozenset[str] = frozenset()
                    ) -> tuple[list[ScoredSentence], set[tuple[str, int]]]:
        """The sentences that state the kind of fact asked for and score at least
        `fact_floor` first, then the others scoring at least `floor`, then the rest, each
        group in its order: the sentence holding the fact is quoted first when it is among
        the ones close enough to be quoted at all. Also returns the (passage id, sentence)
        of the first group."""
        names = name_words(self.index) if kind == "person" else frozenset()

        def states(s: ScoredSentence) -> bool:
            p = s.hit.passage
            return states_fact(kind, self.index.documents[p.doc_id].text, p.sentences, s.j,
                               names, asked)

        facts = [s for s in scored if s.score >= fact_floor and states(s)]
        stated = {(s.hit.passage.id, s.j) for s in facts}
        others = [s for s in scored if (s.hit.passage.id, s.j) not in stated]
        return facts + others, stated

    def whole(self, p: Passage, j: int, cos: float, fact_kind: str | None = None
              ) -> list[Span] | None:
        """Sentence j of p as a whole quote (see `widen`); when the passage itself
        opens by referring back, the last sentence of the paragraph before it comes too.
        For a question for one fact, the neighbours that state it come too (`with_fact`).
        None when that is not enough to read it."""
        text = self.index.documents[p.doc_id].text
        a, b, dangling = widen(text, p, j, self.list_end)
        if fact_kind is not None:
            a, b = with_fact(text, p, a, b, fact_kind, name_words(self.index))
        span = Span(p, a, b, cos)
        if not dangling:
            return [span]
        if p.body_start > p.start:
            if a == 0 and is_item(sentence(text, p, 0)) and lead_in(text, p) is not None:
                return [Span(p, a, b, cos, lo=p.start)]  # the item with its lead-in
            return None  # it refers to its heading ("This domain"), which is not quoted
        row = self.index.by_id[p.id]
        if a == 0 and is_item(sentence(text, p, 0)):
            head = self.list_head(row)
            if head is not None:
                return [head, span]
        prev = self.index.passages[row - 1] if row > 0 else None
        if prev is None or prev.doc_id != p.doc_id or not prev.sentences:
            return None
        last = len(prev.sentences) - 1
        pa, pb, prev_dangling = widen(text, prev, last, self.list_end)
        if prev_dangling or leans_back(sentence(text, prev, pa)):
            return None
        return [Span(prev, pa, pb, cos), span]

    def list_head(self, row: int, most: int = 30) -> Span | None:
        """The lead-in of the list whose item opens passage `row` when the items are
        passages of their own: the heading ("The NHS also commits:") of the nearest
        passage before it that opens the same run of items; None when there is none."""
        p = self.index.passages[row]
        text = self.index.documents[p.doc_id].text
        for r in range(row - 1, max(row - most, 0) - 1, -1):
            q = self.index.passages[r]
            if q.doc_id != p.doc_id or q.kind != p.kind or not q.sentences:
                return None
            if not is_item(sentence(text, q, 0)):
                return None
            end = lead_in(text, q)
            if end is not None:
                return Span(q, 0, 0, 0.0, lo=q.start, hi=end)
            if q.body_start > q.start:
                return None
        return None

    def list_end(self, p: Passage, j: int) -> int:
        """The last sentence to quote with sentence j: j itself, or, when j leads into a list
        (it ends with a colon, or breaks off without a full stop as in "the four tests that
        there is"), the list's items that follow it in the passage, up to the item that
        closes with a full stop and within `Settings.list_words` words."""
        text = self.index.documents[p.doc_id].text
        sentence = text[slice(*p.sentences[j])].rstrip()
        if not opens_list(sentence):
            return j
        count, end = 0, j
        for k in range(j + 1, len(p.sentences)):
            item = text[slice(*p.sentences[k])].rstrip()
            count += len(item.split())
            if count > self.list_words:
                break
            end = k
            if not opens_list(item):
                break
        return end
