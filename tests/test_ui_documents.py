"""The Documents page in AppTest: the manifest, reading a document, private uploads and the
administrator's changes to the shared corpus; and the upload checks on their own."""

from __future__ import annotations

import re
import shutil

import pytest
from uihelp import DRAFT, answers, ask, htmls, plain, sources, start

from ui.uploads import UploadError, check_upload, safe_filename, save_upload


def test_documents_page_shows_the_manifest_and_reads_a_document(env, built, index):
    at = start()
    at.switch_page("views/documents.py").run()
    assert not at.exception, at.exception
    facts = [plain(c.value) for c in at.caption if "passages" in c.value]
    assert len(facts) == len(index.documents)  # one line per document
    assert any(re.fullmatch(r"constitution · final · 2015-07-27 · 16 pages · \d+ passages · .*",
                            f) for f in facts), facts
    pattern = (r"draft mandate \+ consultation questions · draft · 2012-07 · 32 pages · "
               r"\d+ passages · .*")
    assert any(re.fullmatch(pattern, f) for f in facts), facts
    shown = " ".join(plain(c.value) for c in at.caption)
    assert str(built.corpus_dir) not in shown and str(built.index_dir) not in shown  # no paths
    assert re.search(r"Index built \d{1,2} \w{3} \d{4}, \d\d:\d\d", shown), shown
    at.selectbox(key="read-doc").set_value(DRAFT).run()
    text = [b for b in htmls(at) if 'class="doc-text"' in b][0]
    assert '<p class="page">Page 22</p>' in text
    assert 'id="passage-' in text and "Objective 15" in text


HEDGEHOG = ("Hedgehog welfare policy\n\n1.1 Every NHS trust should appoint a hedgehog "
            "welfare lead to look after hedgehogs found in hospital gardens.\n")


@pytest.fixture
def own_copy(built, monkeypatch, tmp_path):
    """A copy of the corpus and index this test may change."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(built.corpus_dir, corpus)
    shutil.copytree(built.index_dir, index)  # its vectors are reused: only new text is embedded
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(index))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    return corpus


def test_uploads_are_private_to_their_session(own_copy):
    corpus = own_copy
    before = sorted(p.name for p in corpus.iterdir())
    at = start()
    at.switch_page("views/documents.py").run()
    for name, data, message in [
        ("notes.pdf", b"Plain text pretending to be a PDF.\n" * 20, "is not a PDF"),
        ("broken.pdf", b"%PDF-1.4\n" + b"\x00garbage" * 500, "not a readable PDF"),
    ]:
        at.file_uploader[0].upload(name, data, "application/pdf").run()
        at.button(key="ingest").click().run()
        assert not at.exception, at.exception
        assert message in plain(at.error[0].value), at.error
        at.file_uploader[0].clear().run()

    at.file_uploader[0].upload("../../hedgehog policy.txt", HEDGEHOG.encode(),
                               "text/plain").run()
    at.button(key="ingest").click().run()
    assert not at.exception, at.exception
    assert "Added hedgehog-policy.txt to your documents" in plain(at.success[0].value)
    assert sorted(p.name for p in corpus.iterdir()) == before  # the shared corpus is untouched
    assert any(plain(c.value) == "uploaded by you, not an official document · 1 passage"
               for c in at.caption), [c.value for c in at.caption]

    at.switch_page("views/chat.py").run()
    ask(at, "Who looks after hedgehogs found in hospital gardens?")
    assert any("Hedgehog welfare policy" in h for h in sources(at))
    assert "uploaded by you, not an official document" in answers(at)[0]
    ask(at, "Which objective covers carers?")
    assert "<strong>Objective 15</strong>" in answers(at)[-1]

    other = ask(start(), "Who looks after hedgehogs found in hospital gardens?")
    assert not any("Hedgehog" in h for h in sources(other))  # another session never sees it
    other.switch_page("views/documents.py").run()
    assert not any("Hedgehog" in plain(m.value) for m in other.markdown)

    at.switch_page("views/documents.py").run()
    at.button(key=[b.key for b in at.button if (b.key or "").startswith("rm-mine-")][0]).click()
    at.run()
    assert "Removed hedgehog-policy.txt" in plain(at.success[0].value)
    assert not any("Hedgehog" in plain(m.value) for m in at.markdown)


def test_only_an_administrator_changes_the_shared_corpus(own_copy, monkeypatch):
    corpus = own_copy
    at = start()
    at.switch_page("views/documents.py").run()
    assert any("no administrator token is set" in plain(m.value) for m in at.markdown)
    assert not [b for b in at.button if (b.key or "").startswith("rm-")]

    monkeypatch.setenv("ASSISTANT_ADMIN_TOKEN", "s3cret-token")
    at = start()
    at.switch_page("views/documents.py").run()
    at.text_input(key="admin-token").input("wrong").run()
    assert any("not the administrator token" in e.value for e in at.error)
    at.text_input(key="admin-token").input("s3cret-token").run()
    at.file_uploader(key="shared-upload-0").upload(
        "../../evil<script>alert(1)</script>.txt", HEDGEHOG.encode(), "text/plain").run()
    at.button(key="ingest-shared").click().run()
    assert not at.exception, at.exception
    message = plain(at.success[0].value)
    assert "evil-alert-1.txt" in message and ": 1 passage," in message, message
    assert (corpus / "evil-alert-1.txt").is_file()

    other = ask(start(), "Who looks after hedgehogs found in hospital gardens?")
    assert any("Hedgehog welfare policy" in h for h in sources(other))  # shared: everyone

    at.run()
    at.button(key="rm-evil-alert-1").click().run()
    assert "Removed evil-alert-1.txt" in plain(at.success[0].value)
    assert not (corpus / "evil-alert-1.txt").exists()
    from assistant.config import Settings
    from assistant.conversations.store import open_store

    events = open_store(Settings.from_env()).events()
    assert [(e["action"], e["file"]) for e in events] == [
        ("corpus.remove", "evil-alert-1.txt"), ("corpus.add", "evil-alert-1.txt")]


def test_upload_names_stay_inside_the_corpus(tmp_path, built):
    assert safe_filename("../../x.pdf", ".pdf") == "x.pdf"
    assert safe_filename("..\\..\\evil.txt", ".txt") == "evil.txt"
    assert safe_filename(".hidden.md", ".md") == "hidden.md"
    assert safe_filename("../..", ".txt") == "upload.txt"
    settings = built.with_(corpus_dir=tmp_path / "corpus")
    path = save_upload(settings, "../../x.txt", b"Some plain text about the NHS.")
    assert path.parent == (tmp_path / "corpus").resolve() and path.name == "x.txt"
    again = save_upload(settings, "x.txt", b"Different text about the NHS mandate.")
    assert again.name == "x-2.txt"
    with pytest.raises(UploadError, match="already in the corpus"):
        save_upload(settings, "copy.txt", b"Some plain text about the NHS.")


def test_upload_type_and_size_are_checked_by_content():
    with pytest.raises(UploadError, match="is not a PDF"):
        check_upload("a.pdf", b"hello", 1000)
    with pytest.raises(UploadError, match="a PNG image"):
        check_upload("a.txt", b"\x89PNG\r\n\x1a\n....", 1000)
    with pytest.raises(UploadError, match="is a PDF, not text"):
        check_upload("a.md", b"%PDF-1.7 ...", 1000)
    with pytest.raises(UploadError, match="over the"):
        check_upload("a.txt", b"x" * 2001, 1000 * 2)
    with pytest.raises(UploadError, match="only PDF"):
        check_upload("a.docx", b"text", 1000)
    assert check_upload("a.PDF", b"%PDF-1.4 ...", 1000) == ".pdf"
