"""Structure and passages of the real corpus: objectives, consultation questions, sections,
paragraph numbers, pages, offsets that round-trip, and ids derived from content."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import CORPUS

from assistant.ingest.clean import SourceFile, discover, load_document
from assistant.ingest.passages import catalogue, chunk, split_sentences
from assistant.ingest.structure import analyse

DRAFT = "draft-mandate-2012"
SUMMARY = "mandate-2017-19-summary"
DOC_IDS = [DRAFT, "strategic-context-2012", "news-final-mandate-2012",
           "hsj-first-mandate-2012", SUMMARY]


class Parsed:
    def __init__(self, src: SourceFile) -> None:
        self.doc = load_document(src)
        self.units = analyse(self.doc)
        self.passages = chunk(self.doc, self.units)
        self.objectives, self.questions = catalogue(self.doc, self.units, self.passages)


@pytest.fixture(scope="module")
def parsed() -> dict[str, Parsed]:
    return {src.doc_id: Parsed(src) for src in discover(CORPUS)}


def source_lines(doc_id: str) -> list[str]:
    text = (CORPUS / f"{doc_id}.txt").read_text(encoding="utf-8")
    return [" ".join(line.split()) for line in text.split("\n")]


# ---------------------------------------------------------------- objectives and questions


def test_draft_mandate_has_objectives_1_to_22(parsed):
    objectives = parsed[DRAFT].objectives
    assert [o.number for o in objectives] == [str(n) for n in range(1, 23)]
    assert [o.id for o in objectives] == [f"{DRAFT}/{n}" for n in range(1, 23)]
    # the source prints every one of them as "Objective N:"
    printed = {int(m) for m in re.findall(r"Objective (\d+):", "\n".join(source_lines(DRAFT)))}
    assert printed == set(range(1, 23))
    for o in objectives:
        assert o.text.startswith(f"Objective {o.number}:") or o.text.lstrip("\u2022 ").startswith(
            f"Objective {o.number}:")
        assert o.title and not o.title.startswith("Objective")


def test_objective_15_is_about_carers(parsed):
    p = parsed[DRAFT]
    o15 = next(o for o in p.objectives if o.number == "15")
    assert o15.title.startswith("Improve the support that carers receive from the NHS")
    assert str(o15.section) == "3. Putting patients first > Supporting carers"
    # its bullets belong to it
    assert "respite care" in o15.text
    passage = next(x for x in p.passages if x.id == o15.passage_id)
    assert passage.kind == "objective" and passage.number == "15"


def test_objective_15_is_introduced_by_paragraphs_3_19_to_3_21(parsed):
    p = parsed[DRAFT]
    o15 = next(o for o in p.objectives if o.number == "15")
    by_id = {x.id: x for x in p.passages}
    intro = [by_id[i].paragraph for i in o15.intro_passage_ids]
    assert {"3.19", "3.20", "3.21"} <= set(intro)
    # and nothing from another section
    assert all(by_id[i].section == o15.section for i in o15.intro_passage_ids)


def test_draft_mandate_has_12_consultation_questions_with_chapters(parsed):
    questions = parsed[DRAFT].questions
    assert [q.number for q in questions] == [str(n) for n in range(1, 13)]
    chapters = {q.number: q.chapter for q in questions}
    for n in "12345":
        assert chapters[n] == "Overarching"
    assert chapters["9"] == "3. Putting patients first"
    q9 = next(q for q in questions if q.number == "9")
    assert "support for carers" in q9.text
    for q in questions:
        assert q.text.endswith("?") and not re.match(r"\d", q.text)
        assert q.page is not None


def test_summary_headings_are_objectives_1_to_7(parsed):
    lines = [x for x in source_lines(SUMMARY) if x]
    # a heading is a line followed by bullet points
    headings = [x for x, nxt in zip(lines, lines[1:], strict=False)
                if not x.startswith("\u2022") and nxt.startswith("\u2022")]
    assert len(headings) == 7
    objectives = parsed[SUMMARY].objectives
    assert [o.number for o in objectives] == [str(n) for n in range(1, 8)]
    assert [o.title for o in objectives] == headings
    dementia = objectives[3]
    assert "Improve the quality of care and support for people with dementia" in dementia.text
    assert parsed[SUMMARY].questions == []


def test_documents_without_objectives_have_none(parsed):
    for doc_id in ("strategic-context-2012", "news-final-mandate-2012", "hsj-first-mandate-2012"):
        assert parsed[doc_id].objectives == []


# ---------------------------------------------------------------- passages


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_passages_round_trip_and_cover_the_text(parsed, doc_id):
    doc, passages = parsed[doc_id].doc, parsed[doc_id].passages
    assert passages
    covered = [False] * len(doc.text)
    prev_end = 0
    for p in passages:
        assert doc.text[p.start : p.end] == p.text
        assert prev_end <= p.start < p.end  # in order, not overlapping
        prev_end = p.end
        for i in range(p.start, p.end):
            covered[i] = True
    missed = "".join(ch for ch, c in zip(doc.text, covered, strict=True)
                     if not c and not ch.isspace())
    assert missed == ""


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_every_passage_knows_where_it_came_from(parsed, doc_id):
    doc, passages = parsed[doc_id].doc, parsed[doc_id].passages
    for p in passages:
        assert p.doc_id == doc_id
        assert p.start <= p.body_start < p.end <= len(doc.text)
        assert p.kind in {"paragraph", "objective", "question", "text", "footnote"}
        for s, e in p.sentences:
            assert p.body_start <= s < e <= p.end
        if doc_id == DRAFT:
            assert p.page is not None and p.page_end is not None
            assert 1 <= p.page <= p.page_end <= doc.n_pages + 1
            assert p.page == doc.page_at(p.body_start)


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_every_passage_has_a_section(parsed, doc_id):
    for p in parsed[doc_id].passages:
        assert p.section, f"{doc_id} passage without a section: {p.text[:60]!r}"


def test_numbered_paragraphs_are_labelled(parsed):
    doc, passages = parsed[DRAFT].doc, parsed[DRAFT].passages
    labels = {p.paragraph for p in passages if p.kind == "paragraph"}
    assert {"1.1", "1.11", "2.24", "3.19", "3.20", "3.21"} <= labels
    for p in passages:
        if p.kind == "paragraph":
            assert doc.text[p.body_start : p.end].startswith(p.paragraph + " ")
    p321 = next(p for p in passages if p.paragraph == "3.21")
    assert str(p321.section) == "3. Putting patients first > Supporting carers"


def test_footnotes_are_passages_of_their_own(parsed):
    passages = parsed[DRAFT].passages
    note = next(p for p in passages if p.kind == "footnote" and p.paragraph == "Footnote 1")
    assert "established on 1 October 2012" in note.text
    p111 = next(p for p in passages if p.paragraph == "1.11")
    assert "established on 1 October 2012" not in p111.text


def test_passage_ids_are_stable_and_unique(parsed):
    src = next(s for s in discover(CORPUS) if s.doc_id == DRAFT)
    again = chunk(load_document(src))
    first = parsed[DRAFT].passages
    assert [p.id for p in again] == [p.id for p in first]
    assert len({p.id for p in first}) == len(first)


def test_passage_ids_change_with_the_text(parsed, tmp_path):
    src = next(s for s in discover(CORPUS) if s.doc_id == DRAFT)
    copy = tmp_path / src.path.name
    shutil.copy(src.path, copy)
    source = copy.read_text(encoding="utf-8")
    assert source.count("experienced") == 1  # in paragraph 3.20
    copy.write_text(source.replace("experienced", "seasoned"), encoding="utf-8")
    changed = chunk(load_document(SourceFile(copy, src.meta)))
    before = {p.paragraph: p.id for p in parsed[DRAFT].passages if p.kind == "paragraph"}
    after = {p.paragraph: p.id for p in changed if p.kind == "paragraph"}
    edited = next(p.paragraph for p in changed if "seasoned" in p.text)
    assert edited == "3.20"
    assert after[edited] != before[edited]
    same = [k for k in before if k != edited]
    assert same and all(after[k] == before[k] for k in same)


# ---------------------------------------------------------------- sentences


def test_split_sentences_leaves_out_labels_and_keeps_abbreviations():
    text = "3.21 Carers matter, e.g. parents. They need respite. 2 Footnote"
    spans = split_sentences(text, offset=10)
    got = [text[s - 10 : e - 10] for s, e in spans]
    assert got == ["Carers matter, e.g. parents.", "They need respite.", "2 Footnote"]


def test_split_sentences_splits_lines_and_bullets():
    text = "Objective 15: Improve support, by:\n\n\u2013 early identification; and\n\u2013 respite."
    got = [text[s:e] for s, e in split_sentences(text)]
    assert got == ["Objective 15: Improve support, by:", "early identification; and", "respite."]


# ------------------------------------------------------- provisions in documents of any layout

_CHARTER_TEXT = """Community care charter

1. Your rights and our pledges

Everyone who uses the service should understand what it offers.

Getting care

The rights are there to help make sure that residents:
\u2022 can register with a community nurse team near their home;
\u2022 are seen by a nurse within two working days of asking; and
\u2022 can see the notes the team keeps about them.

The service also commits:
\u2022 to answer every letter within ten working days;
\u2022 to publish its waiting times every month.

\u2022 to offer an interpreter to anyone who asks for one (pledge).

Visiting

Who may come:

You have the right to ask for a relative to stay with you overnight.

You have the right to:
(a) have a relative with you at every visit;
(b) ask for a visit at a time that suits you.

Our pledges to carers

We will give every carer a named contact in the team.

We will ask carers how they are at every visit.

When you are at home, you have a duty to:
1. keep the equipment the team lends you safe;
2. tell the team if it stops working.

2. Your responsibilities

\u2022 Tell the team when you move house.
\u2022 Keep your appointments or cancel them in good time.
"""


@pytest.fixture(scope="module")
def charter_text(tmp_path_factory):
    path = tmp_path_factory.mktemp("charter") / "community-care-charter.txt"
    path.write_text(_CHARTER_TEXT, encoding="utf-8")
    doc = load_document(SourceFile(path))  # no manifest entry: kinds are detected
    units = analyse(doc)
    return doc, units, chunk(doc, units)


def _kind_of(units, words: str) -> str | None:
    """The provision kind of the list item that opens with `words` (after its label)."""
    item = next(u for u in units if re.sub(r"^(?:\u2022|\([a-z]\)) ", "", u.block.text)
                .startswith(words))
    return item.provision.value if item.provision else None


def test_list_items_take_their_kind_from_the_lead_in_a_marker_or_the_heading(charter_text):
    _, units, _ = charter_text
    assert _kind_of(units, "can register with a community nurse") == "right"  # the lead-in says
    assert _kind_of(units, "can see the notes the team keeps about") == "right"
    assert _kind_of(units, "to answer every letter within ten work") == "pledge"  # "... commits:"
    assert _kind_of(units, "to offer an interpreter to anyone who") == "pledge"  # "(pledge)" marker
    assert _kind_of(units, "Tell the team when you move house.") == "responsibility"  # its heading
    assert _kind_of(units, "Keep your appointments or cancel them") == "responsibility"
    assert _kind_of(units, "have a relative with you at every vis") == "right"  # lettered items
    assert _kind_of(units, "ask for a visit at a time that suits y") == "right"
    assert _kind_of(units, "We will give every carer") == "pledge"  # under "Our pledges ..."
    assert _kind_of(units, "We will ask carers how") == "pledge"
    assert _kind_of(units, "1. keep the equipment") == "responsibility"  # numbered items
    assert _kind_of(units, "2. tell the team if it stops") == "responsibility"
    # the numbered list ends at the next chapter, whose list takes the chapter's kind
    tell = next(u for u in units if "move house" in u.block.text)
    assert str(tell.section) == "2. Your responsibilities"
    assert not any(u.role == "objective" for u in units)


def test_list_items_are_filed_under_their_lead_in(charter_text):
    doc, _, passages = charter_text
    rights = [p for p in passages if p.kind == "right" and "Getting care" in p.section.parts]
    assert len(rights) == 3
    assert {str(p.section) for p in rights} == {
        "1. Your rights and our pledges > Getting care > "
        "The rights are there to help make sure that residents"}
    # the first item's passage carries its lead-in before its own words; the others are items
    lead = "The rights are there to help make sure that residents:"
    assert lead in doc.text[rights[0].start:rights[0].body_start]
    assert all(lead not in p.text for p in rights[1:])
    assert all(p.text == doc.text[p.start:p.end] for p in passages)


def test_a_line_ending_in_a_colon_over_a_paragraph_heads_a_section(charter_text):
    _, units, _ = charter_text
    overnight = next(u for u in units if "stay with you overnight" in u.block.text)
    assert overnight.provision is not None and overnight.provision.value == "right"
    assert str(overnight.section) == "1. Your rights and our pledges > Who may come"
    lettered = next(u for u in units if "have a relative with you" in u.block.text)
    assert str(lettered.section) == ("1. Your rights and our pledges > Who may come > "
                                "You have the right to")


def test_a_section_is_read_as_its_headings_outermost_first():
    from assistant.types import SectionPath

    path = SectionPath.parse("3. Supporting people > Carers")
    assert path.parts == ("3. Supporting people", "Carers") and path.depth == 2
    assert path.chapter == "3. Supporting people" and path.heading == "Carers"
    assert str(path) == "3. Supporting people > Carers" and SectionPath.parse(path) is path
    assert SectionPath.of("3. Supporting people", "", "Carers") == path
    assert not SectionPath.parse("") and str(SectionPath()) == ""
    assert SectionPath().chapter == SectionPath().heading == "" and SectionPath().depth == 0


def test_sections_are_typed_in_memory_and_written_as_before_on_disk(parsed):
    import json

    from assistant.types import Objective, Passage, SectionPath

    o15 = next(o for o in parsed[DRAFT].objectives if o.number == "15")
    assert o15.section == SectionPath(("3. Putting patients first", "Supporting carers"))
    stored = json.loads(json.dumps(o15.to_dict()))
    assert stored["section"] == "3. Putting patients first > Supporting carers"
    assert Objective(**stored) == o15
    for p in parsed[DRAFT].passages:
        assert isinstance(p.section, SectionPath)
        stored = json.loads(json.dumps(p.to_dict()))
        assert stored["section"] == str(p.section)
        assert Passage.from_dict(stored).section == p.section


def test_kinds_are_enums_in_memory_and_plain_strings_on_disk(parsed):
    import json

    from assistant.types import BlockKind, Passage, PassageKind, ProvisionKind, Role

    doc, units, passages = (parsed[DRAFT].doc, parsed[DRAFT].units, parsed[DRAFT].passages)
    assert {type(b.kind) for b in doc.blocks} == {BlockKind}
    assert {type(u.role) for u in units} == {Role}
    assert {p.kind for p in passages} >= {PassageKind.OBJECTIVE, PassageKind.QUESTION,
                                          PassageKind.PARAGRAPH, PassageKind.FOOTNOTE}
    for p in passages:
        stored = json.loads(json.dumps(p.to_dict()))
        assert type(stored["kind"]) is str and stored["kind"] == p.kind.value
        back = Passage.from_dict(stored)
        assert back == p and back.kind is p.kind
    # a passage that states a provision has that provision's kind, by value
    assert {k.value for k in PassageKind} >= {k.value for k in ProvisionKind} - {
        "consultation_question"}
    with pytest.raises(ValueError):
        Passage.from_dict({**passages[0].to_dict(), "kind": "chapter"})
