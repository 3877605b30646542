"""PDFs read with their layout: the shipped NHS Constitution and made-up PDFs with running
headers and footers, footnotes, two columns, page labels and a title only in the metadata."""

from __future__ import annotations

import re

import pytest
from pdfs import (
    CHARTER_FIRST_LABEL,
    CHARTER_HEADER,
    CHARTER_TITLE,
    COLUMN_SENTENCE,
    FOOTNOTE_TEXT,
    charter_pdf,
    leaflet_pdf,
    long_pdf,
)

from assistant.config import PROJECT_ROOT
from assistant.errors import IngestError
from assistant.ingest.clean import SourceFile, discover, load_document
from assistant.ingest.passages import chunk
from assistant.ingest.structure import analyse
from assistant.search.provisions import catalogue_provisions
from assistant.types import ProvisionKind

CONSTITUTION = PROJECT_ROOT / "corpus" / "nhs-constitution-2015.pdf"


@pytest.fixture(scope="module")
def constitution():
    src = next(s for s in discover(PROJECT_ROOT / "corpus") if s.path == CONSTITUTION)
    doc = load_document(src)
    units = analyse(doc)
    return doc, chunk(doc, units)


@pytest.fixture(scope="module")
def charter(tmp_path_factory):
    path = charter_pdf(tmp_path_factory.mktemp("charter") / "charter.pdf")
    doc = load_document(SourceFile(path))
    return doc, chunk(doc, analyse(doc))


def test_constitution_has_no_page_furniture_in_any_passage(constitution):
    doc, passages = constitution
    assert doc.title == "The NHS Constitution for England"  # from the manifest
    for p in passages:
        assert not re.search(r"\| \d+|\d+ \|", p.text), p.text[:80]
    assert doc.dropped["running headers and footers"] >= 14


def test_constitution_words_are_whole_and_sentences_uncut(constitution):
    doc, passages = constitution
    for split in (" N HS ", "At t he", " m ost ", "a l egal"):
        assert split not in doc.text
    screening = [p for p in passages if "National Screening Committee" in p.text]
    assert len(screening) == 1
    assert "recommended by the UK National Screening Committee (pledge)" in screening[0].text


def test_constitution_footnotes_are_their_own_passages(constitution):
    doc, passages = constitution
    notes = [p for p in passages if p.kind == "footnote"]
    assert [p.paragraph for p in notes] == ["Footnote 1", "Footnote 2", "Footnote 3"]
    body = [p for p in passages if p.kind != "footnote"]
    for p in body:
        assert "Heatlh Act" not in p.text and "is an independent organisation" not in p.text
    assert any("NICE\u00b9" in p.text for p in body)
    assert not re.search(r"NICE1|staff3", doc.text)


def test_constitution_rights_one_a_passage_with_section_and_printed_page(constitution):
    doc, passages = constitution
    gp = [p for p in passages if "You have the right to choose your GP practice" in p.text]
    assert len(gp) == 1 and gp[0].kind == "right" and gp[0].page == 9
    assert gp[0].section.heading == "Informed choice"
    assert gp[0].section.chapter.startswith("3a. Patients and the public")
    for p in passages:
        if p.kind == "right":
            assert p.text.count("You have the right") <= 1, p.text[:120]  # one right each
    # the staff rights are list items under a lead-in: rights, filed under it
    fair_pay = [p for p in passages if "have a fair pay and contract framework" in p.text]
    assert fair_pay[0].kind == "right"
    assert fair_pay[0].section.heading == "The rights are there to help ensure that staff"
    staff = [p for p in passages if "duty to protect the confidentiality" in p.text]
    assert str(staff[0].section) == "4b. Staff \u2013 your responsibilities"


def test_constitution_provisions_by_kind_and_no_objectives(constitution):
    doc, passages = constitution
    units = analyse(doc)
    kinds = [p.kind for p in passages]
    assert "objective" not in kinds
    provisions = catalogue_provisions(doc, passages, [], [])
    count = {k: sum(p.kind is k for p in provisions) for k in ProvisionKind}
    assert count[ProvisionKind.PRINCIPLE] == 7
    assert count[ProvisionKind.VALUE] == 6
    assert count[ProvisionKind.RIGHT] >= 25
    assert count[ProvisionKind.PLEDGE] >= 20
    assert count[ProvisionKind.RESPONSIBILITY] >= 15
    assert not any(u.role == "objective" for u in units)


def test_made_pdf_title_from_metadata_and_printed_page_labels(charter):
    doc, passages = charter
    assert doc.title == CHARTER_TITLE
    first = next(p for p in passages if "register with a community nurse" in p.text)
    assert first.page == CHARTER_FIRST_LABEL
    last = next(p for p in passages if "tell the team when you move" in p.text)
    assert last.page == CHARTER_FIRST_LABEL + 1


def test_made_pdf_furniture_columns_footnotes_and_sections(charter):
    doc, passages = charter
    for p in passages:
        assert CHARTER_HEADER.split(" |")[0] not in p.text
        assert "Published by the district board" not in p.text
    whole = [p for p in passages if COLUMN_SENTENCE in p.text]
    assert len(whole) == 1 and whole[0].kind == "right"
    note = [p for p in passages if p.kind == "footnote"]
    assert len(note) == 1 and FOOTNOTE_TEXT in note[0].text
    assert all(FOOTNOTE_TEXT not in p.text for p in passages if p.kind != "footnote")
    appeal = next(p for p in passages if "appeal a decision" in p.text)
    assert appeal.text.endswith("district board.\u00b9")
    assert str(appeal.section) == "2b. Rights of residents > Access to care"


def test_very_long_pdf_gets_one_clear_line(tmp_path):
    path = long_pdf(tmp_path / "appendix.pdf", 2000)
    with pytest.raises(IngestError, match=r"appendix\.pdf: 2000 pages is over the 1000-page"):
        load_document(SourceFile(path))


def test_title_from_the_largest_type_when_metadata_has_none(tmp_path):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "plan.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)  # reportlab's default title is "untitled"
    c.setFont("Helvetica", 11)
    c.drawString(72, 800, "Issued for consultation")
    c.setFont("Helvetica-Bold", 24)
    c.drawString(72, 740, "Winter Pressures Plan")
    c.setFont("Helvetica", 11)
    c.drawString(72, 700, "Hospitals will open extra beds from December to March each year.")
    c.showPage()
    c.save()
    doc = load_document(SourceFile(path))
    assert doc.title == "Winter Pressures Plan"


def test_made_pdf_lists_under_plain_lead_ins_take_their_kind(tmp_path):
    doc = load_document(SourceFile(leaflet_pdf(tmp_path / "leaflet.pdf")))
    passages = chunk(doc, analyse(doc))
    kinds = {p.kind for p in passages}
    assert "objective" not in kinds

    def kind_of(words: str) -> str:
        return next(p.kind for p in passages if words in doc.text[p.body_start:p.end])

    assert kind_of("ask for a visit outside working hours") == "right"  # its lead-in says
    assert kind_of("see a doctor within one day") == "right"
    assert kind_of("a nurse will phone you the day after") == "pledge"  # its marker says
    assert kind_of("keep the equipment safe and dry") == "responsibility"  # lettered items
    assert kind_of("tell the team when you feel worse") == "responsibility"
    lettered = next(p for p in passages if "tell the team when you feel worse" in p.text)
    # filed under the sentence that introduces the list, not the whole paragraph it ends
    assert str(lettered.section) == ("Your care at home > "
                                "While the team cares for you, you have a duty to")


def test_provision_titles_leave_out_what_closes_a_list_item(constitution):
    doc, passages = constitution
    titles = {p.title for p in catalogue_provisions(doc, passages, [], [])}
    assert "Have a fair pay and contract framework" in titles  # no closing ";"
    assert not any(re.search(r"\((?:pledge|right)\)|;\s*(?:and)?$", t) for t in titles)
    assert any(t.startswith("To share with you any correspondence") and t.endswith("care.")
               for t in titles)  # "(pledge)." keeps its full stop


def test_a_long_pdfs_pages_read_by_child_processes_give_the_same_layout(monkeypatch):
    """Pages read by a child process (`python -m assistant.ingest.pagelines`) come back
    exactly as this process reads them; with no processes allowed, they are read here."""
    import subprocess

    from assistant.ingest import pagelines
    from assistant.ingest.layout import read_layout

    data = CONSTITUTION.read_bytes()
    monkeypatch.setattr(pagelines, "PARALLEL_PAGES", 1_000_000)
    alone = read_layout(CONSTITUTION.name, data)
    monkeypatch.setattr(pagelines, "PARALLEL_PAGES", 4)  # its 16 pages count as long
    monkeypatch.setattr(pagelines.os, "cpu_count", lambda: 2)
    spawned, real = [], subprocess.Popen

    def spy(args, **kwargs):
        spawned.append(args)
        return real(args, **kwargs)

    monkeypatch.setattr(pagelines.subprocess, "Popen", spy)
    assert read_layout(CONSTITUTION.name, data) == alone
    assert len(spawned) == 1 and spawned[0][1:4] == ["-m", "assistant.ingest.pagelines", "8"]

    def refuse(args, **kwargs):
        raise OSError("no processes here")

    monkeypatch.setattr(pagelines.subprocess, "Popen", refuse)
    assert read_layout(CONSTITUTION.name, data) == alone


def _made_pdf(path, pages: list[list[tuple]]):
    """Draw each page's lines, (font, size, x, y, text), a negative x aligning the text's
    right end at -x, and read the PDF back."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    for lines in pages:
        for font, size, x, y, text in lines:
            c.setFont(font, size)
            (c.drawRightString(-x, y, text) if x < 0 else c.drawString(x, y, text))
        c.showPage()
    c.save()
    return load_document(SourceFile(path))


def test_printed_page_from_a_page_n_of_m_footer_after_an_unnumbered_cover(tmp_path):
    """Trust policies print "Page 2 of 3" in the footer and leave the cover unnumbered: a
    citation gives the printed number, not the PDF page (nor the total at the line's end)."""
    sections = [("1. Scope", "1.1 This policy applies to every ward of the hospital."),
                ("2. Duties", "2.1 Ward managers must review the staffing rota every week."),
                ("3. Escalation", "3.1 A shortfall of two nurses or more is escalated at once.")]
    cover = [("Helvetica-Bold", 24, 72, 600, "Safe Staffing Policy")]
    doc = _made_pdf(tmp_path / "policy.pdf", [cover] + [
        [("Helvetica", 8, 72, 30, "Uncontrolled when printed"),
         ("Helvetica", 8, -520, 30, f"Page {n} of {len(sections)}"),
         ("Helvetica-Bold", 14, 72, 760, heading), ("Helvetica", 11, 72, 730, body)]
        for n, (heading, body) in enumerate(sections, start=1)])
    passages = chunk(doc, analyse(doc))
    assert "Page" not in doc.text and "Uncontrolled" not in doc.text
    for words, printed in (("every ward", 1), ("every week", 2), ("escalated at once", 3)):
        assert next(p.page for p in passages if words in p.text) == printed


def test_a_running_header_that_names_each_chapter_is_furniture(tmp_path):
    """A header of a fixed part and the chapter's name repeats whole only within a chapter;
    its fixed part repeats on every page, and it is dropped everywhere."""
    chapters = ["Access to services", "Waiting times", "Complaints", "Your records"]
    doc = _made_pdf(tmp_path / "handbook.pdf", [
        [("Helvetica", 7.5, 51, 818, "Handbook to the Riverside Patient Charter"),
         ("Helvetica", 7.5, -544, 818, chapters[n // 3]),
         ("Helvetica", 10, 57, 700,
          f"Paragraph {n + 1} explains how the charter applies to clinics."),
         ("Helvetica", 10, 57, 30, str(n + 1))] for n in range(12)])
    assert "Riverside Patient Charter" not in doc.text
    assert "Waiting times" not in doc.text
    assert doc.text.count("explains how the charter applies") == 12


def test_a_table_of_contents_is_not_read_as_headings_or_text(tmp_path):
    sections = [("1. Scope", "1.1 This procedure covers every community clinic."),
                ("2. Duties", "2.1 Clinic leads check the fridge temperature daily."),
                ("3. Audit", "3.1 Pharmacy audits the vaccine fridges every quarter.")]
    contents = [("Helvetica-Bold", 16, 72, 760, "Contents")] + [
        ("Helvetica", 11, 72, 730 - 20 * n, f"{h} {'.' * (60 - 2 * len(h))} {n + 2}")
        for n, (h, _) in enumerate(sections)]
    doc = _made_pdf(tmp_path / "contents.pdf", [contents] + [
        [("Helvetica-Bold", 14, 72, 700, heading), ("Helvetica", 11, 72, 670, body)]
        for heading, body in sections])
    passages = chunk(doc, analyse(doc))
    assert "...." not in doc.text and "Contents" not in doc.text
    assert doc.dropped["contents lines"] == 4
    for heading, body in sections:
        assert doc.text.count(heading) == 1
        assert str(next(p for p in passages if body[4:] in p.text).section) == heading


def test_paragraphs_numbered_three_deep_under_a_numbered_sub_heading(tmp_path):
    lines = [("Helvetica-Bold", 14, "4. Duties and responsibilities"),
             ("Helvetica", 11, "4.1 The Chief Executive is accountable for this procedure."),
             ("Helvetica", 11, "4.2 Ward managers"),
             ("Helvetica", 11, "4.2.1 Ward managers check the resuscitation trolley daily."),
             ("Helvetica", 11, "4.2.2 Ward managers record each check in the log book."),
             ("Helvetica", 11, "4.3 The resuscitation officer audits the logs each month.")]
    doc = _made_pdf(tmp_path / "duties.pdf", [
        [(font, size, 72, 740 - 30 * n, text) for n, (font, size, text) in enumerate(lines)]])
    passages = chunk(doc, analyse(doc))

    def at(words: str):
        return next(p for p in passages if words in doc.text[p.body_start:p.end])

    assert at("trolley daily").paragraph == "4.2.1"
    assert at("in the log book").paragraph == "4.2.2"
    assert str(at("trolley daily").section) == "4. Duties and responsibilities > 4.2 Ward managers"
    assert at("audits the logs").paragraph == "4.3"
    assert str(at("audits the logs").section) == "4. Duties and responsibilities"


@pytest.mark.parametrize("name", ["finance.pdf", "finance.txt"])
def test_typeset_ligatures_read_as_their_letters(tmp_path, name):
    """Fonts with ligatures give "\ufb01" for "fi", in a PDF and in text copied from one:
    the words must read as "financial" and "flows" for the search to find them."""
    from pathlib import Path

    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    body = "The trust's \ufb01nancial \ufb02ows are reviewed every month, e\ufb00ectively."
    if name.endswith(".txt"):
        (tmp_path / name).write_text(f"1. Financial plan\n\n{body}\n", encoding="utf-8")
        doc = load_document(SourceFile(tmp_path / name))
    else:
        pdfmetrics.registerFont(TTFont("Vera", str(Path(reportlab.__file__).parent / "fonts"
                                                  / "Vera.ttf")))
        doc = _made_pdf(tmp_path / name, [[("Vera", 14, 72, 760, "1. Financial plan"),
                                           ("Vera", 11, 72, 730, body.replace("\ufb00", "ff"))]])
    assert "financial flows are reviewed every month, effectively" in doc.text
    assert not set("\ufb00\ufb01\ufb02") & set(doc.text)


def test_a_table_without_rules_is_read_row_by_row(tmp_path):
    """A document-control table drawn as a label and a value set far apart, row under row,
    is read one row at a time, its cells parted by a bar: its rows are not wrapped lines of
    one paragraph."""
    from pdfs import TRUST_POLICY_CONTROL, trust_policy_pdf

    doc = load_document(SourceFile(trust_policy_pdf(tmp_path / "policy.pdf")))
    rows = [f"{label} | {value}" for label, value in TRUST_POLICY_CONTROL]
    assert "\n\n".join(rows) in doc.text
    passages = chunk(doc, analyse(doc))
    control = next(p for p in passages if "Approved by" in p.text)
    assert [doc.text[a:b] for a, b in control.sentences] == rows


def test_a_tables_wrapped_cells_join_their_own_row(tmp_path):
    """A cell that wraps onto a second line is drawn cell by cell: its lines join their own
    cell, not the next cell's line ("Named Nurse for Gives advice ... Safeguarding Adults
    safeguarding board ..."), rows between rules stay apart; in a table without rules, a
    value wrapped under itself stays in its row while the next label starts a new one, and
    where rows are set further apart than their lines, a wrapped label stays in its row."""
    from pdfs import DUTIES_ROWS, SPACED_ROWS, UNRULED_ROWS, duties_table_pdf

    doc = load_document(SourceFile(duties_table_pdf(tmp_path / "duties.pdf")))
    blocks = doc.text.split("\n\n")
    for row in DUTIES_ROWS + UNRULED_ROWS + SPACED_ROWS:
        assert row in blocks
    assert "Every member of staff must report a concern on the day it arises." in blocks
    passages = chunk(doc, analyse(doc))
    sentences = {doc.text[a:b] for p in passages for a, b in p.sentences}
    assert DUTIES_ROWS[0] in sentences


def test_a_grid_of_narrow_columns_is_read_row_by_row(tmp_path):
    """A monitoring table of five narrow columns between rules drawn down: cells that run
    close together are parted at the rules, the table is read row by row even where the
    page would be read as two columns of text, and its bold rows head no section. A list
    in a cell stays in its row, each bullet with its item."""
    from pdfs import CONTROL_ROWS, LIST_ROW, MONITORING_ROWS, monitoring_table_pdf

    doc = load_document(SourceFile(monitoring_table_pdf(tmp_path / "hygiene.pdf")))
    blocks = doc.text.split("\n\n")
    for row in [*CONTROL_ROWS, LIST_ROW, *MONITORING_ROWS]:
        assert row in blocks
    passages = chunk(doc, analyse(doc))
    row = next(p for p in passages if MONITORING_ROWS[1] in p.text)
    assert "Monitoring compliance" in str(row.section)
    assert not any(r.split(" | ")[0] in str(p.section) for p in passages
                   for r in CONTROL_ROWS + MONITORING_ROWS[:1])


def test_a_covers_label_lines_are_one_fact_a_line(tmp_path):
    """A policy's cover lists its facts a line each, "Label: value": they are not wrapped
    lines of one run-on paragraph, so "Approved by: ..." is a sentence of its own."""
    facts = ["Policy number: MM-02", "Version: 7.1",
             "Approved by: Drugs and Therapeutics Committee", "Date approved: 12 January 2025",
             "Review date: January 2028"]
    cover = [("Helvetica-Bold", 22, 72, 700, "Medicines Management Policy")]
    cover += [("Helvetica", 11, 72, 650 - 16 * n, text) for n, text in enumerate(facts)]
    body = [("Helvetica-Bold", 13, 72, 760, "1. Introduction"),
            ("Helvetica", 11, 72, 735, "This policy describes how medicines are prescribed,"),
            ("Helvetica", 11, 72, 719, "stored and given: it applies to every ward.")]
    doc = _made_pdf(tmp_path / "medicines.pdf", [cover, body])
    blocks = doc.text.split("\n\n")
    assert all(fact in blocks for fact in facts)
    assert ("This policy describes how medicines are prescribed, stored and given: it applies "
            "to every ward.") in blocks


def test_a_table_ruled_only_under_its_header_keeps_its_rows_apart(tmp_path):
    """A rule under the header and one at the foot, rows evenly set between them: the
    space around the header's rule is no sign that the rows below it are one row."""
    from pdfs import WAITS_ROWS, header_ruled_table_pdf

    doc = load_document(SourceFile(header_ruled_table_pdf(tmp_path / "waits.pdf")))
    blocks = doc.text.split("\n\n")
    assert all(row in blocks for row in WAITS_ROWS)
    assert "These waits are measured from the date of referral." in blocks


def test_symbol_font_bullets_read_as_bullets(tmp_path):
    """Word processors set bullets in the Symbol or Wingdings font, which a PDF's text (and
    text copied from it) gives as private-use characters: they read as a bullet, so an
    item is a list item and no answer shows an unprintable glyph."""
    text = ("1. Assessment\n\nThe assessment includes:\n\n\uf0b7 a review of medicines;\n\n"
            "\uf0a7 a lying and standing blood pressure.\n")
    (tmp_path / "falls.txt").write_text(text, encoding="utf-8")
    doc = load_document(SourceFile(tmp_path / "falls.txt"))
    assert "\u2022 a review of medicines;" in doc.text
    assert "\u2022 a lying and standing blood pressure." in doc.text
    assert not any(0xE000 <= ord(ch) <= 0xF8FF for ch in doc.text)
