"""Whether the documents can answer a question at all: `Judge.judge(query, evidence)`.

Two tests, either of which refuses:
1. Weak evidence: the question's evidence is below `Settings.refusal_threshold`. The
   evidence is the best cosine of the question (or one of its sentences) and a sentence of
   the retrieved passages, less a penalty when the question asks how to do something or
   where to go ("How do I register with an NHS dentist?") and one when it asks about the
   present ("How many nurses does the NHS employ today?"): questions of both kinds meet
   the documents' general sentences closely ("Please register with a GP practice") while
   policy written at a date seldom answers them. The penalties and the threshold are a
   logistic regression's, fitted on eval/calibration.jsonl and eval/dev-refusal.jsonl
   (`assistant eval --calibrate`, `assistant.evaluate.refusal`), in cosine units.
2. Unknown specifics: the question names something precise that the documents never
   mention: a year absent from the retrieved passages and from every document's title and
   date ("the 2023/24 mandate"), a number absent from the corpus ("NHS 111"), or a proper
   name with a word the corpus does not contain ("Leeds General Infirmary") unless the
   documents write the name's initials as a word of capitals ("European Union": "EU").

A question that names an objective by number is never refused: the objective answers it.

A question of several sentences ("I look after my mum, who has had a stroke. Is the NHS
supposed to help people like me?") is weighed by its best sentence as well as as a whole:
a story told before the ask pulls the whole question's vector away from any one sentence
of the documents, though one of its sentences is close to one of theirs. A question of one
sentence, as every calibration question is, is weighed as before.

The similarity is the question's own: the glossary's policy terms help choose which
passages are retrieved, but never count as evidence that the documents answer it, or any
question with an everyday word in it ("app", "weekend") would gain evidence from the words
the glossary added.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.text import WORD, lexicon, years_in
from assistant.types import Hit, Query, Specifics


@dataclass(frozen=True)
class Verdict:
    """What the judge decided, and on what."""

    refused: bool
    best: float  # the best sentence similarity among the retrieved passages
    missing: tuple[str, ...]  # the specifics the documents lack
    evidence: float = 0.0  # `best` less the penalties for the kind of question


def penalised(best: float, how_to: bool, now: bool, how_to_penalty: float,
              now_penalty: float) -> float:
    """A question's evidence: its best similarity less the penalty of each kind it is."""
    return best - how_to_penalty * how_to - now_penalty * now


def known_name(words, vocab: set[str], capitals: set[str]) -> bool:
    """True when the documents hold every word of a proper name (its punctuation aside),
    or write its initials as a word of capitals ("European Union": "EU")."""
    words = ["".join(WORD.findall(w.lower())) for w in words]
    words = [w for w in words if w]
    if all(w in vocab for w in words):
        return True
    return len(words) >= 2 and "".join(w[0] for w in words).upper() in capitals


def unknown_specifics(specifics: Specifics, hits: list[Hit], vocab: set[str],
                      known_years: set[str], capitals: set[str] = frozenset()) -> list[str]:
    """Return the specifics the question names that the documents do not contain."""
    missing = []
    evidence = " ".join(h.passage.text for h in hits)
    for written, years in specifics.years:
        if written in evidence or any(y in known_years or y in evidence for y in years):
            continue
        missing.extend(years)
    for number in specifics.numbers:
        if number.replace(",", "") not in vocab:
            missing.append(number)
    for name, words in specifics.names:
        if not known_name(words, vocab, capitals):
            missing.append(name)
    return missing


class Judge:
    """Answer or refuse, over one loaded index."""

    def __init__(self, index, threshold: float, how_to_penalty: float = 0.0,
                 now_penalty: float = 0.0) -> None:
        docs = index.documents.values()
        self.index = index
        self.threshold = threshold
        self.how_to_penalty = how_to_penalty
        self.now_penalty = now_penalty
        lex = getattr(index, "lexicon", None) or lexicon(docs)
        self._vocab, self._capitals = lex["words"], lex["capitals"]  # shared, not copied
        self._known_years = set(years_in(" ".join(f"{d.title} {d.short_title} {d.date}"
                                                  for d in docs)))

    def weigh(self, query: Query, hits: list[Hit], scored) -> tuple[float, list[str]]:
        """The best sentence similarity of the retrieved passages (of `scored`, the scored
        sentences of the hits) and the specifics the documents lack."""
        best = max((s.cos for s in scored), default=0.0)
        if query.part_vectors is not None and len(scored):
            best = max(best, self.best_part(query.part_vectors, scored))
        return best, unknown_specifics(query.specifics, hits, self._vocab, self._known_years,
                                       self._capitals)

    def evidence(self, query: Query, best: float) -> float:
        """The best similarity less the penalties for the kind of question it is."""
        cues = query.intent.cues
        return penalised(best, "how_to" in cues, "now" in cues, self.how_to_penalty,
                         self.now_penalty)

    def best_part(self, part_vectors: np.ndarray, scored) -> float:
        """The best cosine of one of the question's parts and one of the scored sentences."""
        ix = self.index
        rows = [ix.sentence_offsets[ix.by_id[s.hit.passage.id]] + s.j for s in scored]
        vectors = np.asarray(ix.sentence_vectors[np.asarray(rows)], dtype=np.float32)
        return float((vectors @ np.asarray(part_vectors, dtype=np.float32).T).max())

    def weigh_evidence(self, query: Query, evidence) -> tuple[float, list[str]]:
        """`weigh` over the sentences of the retrieved passages only (not those of passages
        drawn in for their sentences alone)."""
        in_hits = {h.passage.id for h in evidence.hits}
        return self.weigh(query, evidence.hits,
                          [s for s in evidence.sentences if s.hit.passage.id in in_hits])

    def judge(self, query: Query, evidence) -> Verdict:
        """Refuse on weak evidence or unknown specifics, unless an objective is named."""
        best, missing = self.weigh_evidence(query, evidence)
        score = self.evidence(query, best)
        refused = not evidence.named and (score < self.threshold or bool(missing))
        return Verdict(refused=refused, best=best, missing=tuple(missing), evidence=score)
