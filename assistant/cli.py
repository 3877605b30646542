"""The command line: `assistant ingest | ask | objectives | eval | docs | serve`. The only
place where errors become messages on stderr and exit codes
(1: a problem the user can fix, 2: bad usage)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from assistant.config import Settings
from assistant.errors import AssistantError

logger = logging.getLogger("assistant")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="assistant",
        description="Cited answers and objective mapping over NHS policy documents.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="(re)build the index from corpus/ and any extra files")
    ing.add_argument("paths", nargs="*", type=Path, help="extra .pdf, .txt or .md files")
    ing.add_argument("--quiet", action="store_true", help="no progress bar")

    ask = sub.add_parser("ask", help="answer a question with cited passages")
    ask.add_argument("question", nargs="?", help="the question (omit with --jsonl)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("--jsonl", action="store_true",
                     help="read one question per line on stdin (plain text, or JSON with "
                          "\"question\" and \"history\"), write one JSON object per line")
    ask.add_argument("--k", type=int, default=None, help="passages to draw on (default 5)")
    ask.add_argument("--doc", action="append", default=None, metavar="ID",
                     help="only search this document (repeatable)")

    obj = sub.add_parser("objectives", help="rank the objectives a query falls under")
    obj.add_argument("query")
    obj.add_argument("--json", action="store_true")
    obj.add_argument("--k", type=int, default=5)
    obj.add_argument("--doc", action="append", default=None, metavar="ID")

    ev = sub.add_parser("eval", help="run the evaluation sets; non-zero exit below the gates")
    ev.add_argument("--set", action="append", default=None, metavar="NAME", dest="sets",
                    help="only this set of eval/sets.json (repeatable)")
    ev.add_argument("--baselines", action="store_true",
                    help="score BM25 alone, dense alone and llama-index defaults (the default)")
    ev.add_argument("--no-baselines", action="store_true", help="score the pipeline only")
    ev.add_argument("--out", type=Path, default=None, help="report folder (default eval/)")
    ev.add_argument("--set-gates", action="store_true",
                    help="derive the CI gates from this run's test-set figures "
                         "(each figure less its interval) and write gates.json")
    ev.add_argument("--targets", action="store_true",
                    help="also fail below the target bars on the test sets")
    ev.add_argument("--no-history", action="store_true",
                    help="do not append this run to history.jsonl")
    ev.add_argument("--calibrate", action="store_true",
                    help="choose the refusal threshold on eval/calibration.jsonl and print it")

    sub.add_parser("docs", help="list the indexed documents")

    srv = sub.add_parser("serve", help="the HTTP API (POST /ask, GET /provisions, ...)")
    srv.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only)")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument("--workers", type=int, default=1, help="API processes (default 1)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(message)s" if not args.verbose else "%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("faiss", "bm25s", "httpx", "sentence_transformers", "root"):
        logging.getLogger(noisy).setLevel(logging.WARNING if not args.verbose else logging.INFO)
    try:
        settings = Settings.from_env()
        return _COMMANDS[args.command](args, settings)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line for the user, the traceback with -v
        logger.debug("unexpected error", exc_info=True)
        print(f"error: unexpected {type(exc).__name__}: {exc} (run with -v for details)",
              file=sys.stderr)
        return 3


def _ingest(args, settings: Settings) -> int:
    from assistant.search.index import build_index

    for path in args.paths:
        if not path.exists():
            raise AssistantError(f"{path} does not exist.")
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=100, desc="Indexing", unit="%", file=sys.stderr,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")

    def progress(fraction: float, text: str) -> None:
        if bar is not None:
            bar.n = round(fraction * 100)
            bar.set_postfix_str(text)
            bar.refresh()

    try:
        report = build_index(settings, extra=list(args.paths), progress=progress)
    finally:
        if bar is not None:
            bar.close()
    for _name, reason in report.skipped:
        print(f"skipped: {reason}", file=sys.stderr)
    if settings.database_url:  # the files were the workspace; publish them for every server
        from assistant.search.index import load_index
        from assistant.search.pgpublish import publish

        name = publish(settings, load_index(settings))
        print(f"Published build {name} to the database.", file=sys.stderr)
    print(
        f"Indexed {len(report.indexed)} document(s), {report.passages} passages "
        f"({report.embedded} texts embedded, {report.reused} reused) in {report.seconds:.1f}s; "
        f"skipped {len(report.skipped)}.",
        file=sys.stderr,
    )
    return 0


def _load(settings: Settings):
    from assistant.pipeline import Assistant
    from assistant.search.index import corpus_changed

    assistant = Assistant(settings)
    changed = [] if settings.database_url else corpus_changed(assistant.index.manifest,
                                                              settings.corpus_dir)
    if changed:
        print(f"note: the corpus changed since the index was built ({', '.join(changed[:3])}"
              f"{', ...' if len(changed) > 3 else ''}); run `assistant ingest` to update it.",
              file=sys.stderr)
    return assistant


def _ask(args, settings: Settings) -> int:
    if args.jsonl:
        return _ask_jsonl(args, settings)
    if args.question is None:
        raise AssistantError("Give a question, e.g. assistant ask \"Which objective covers "
                             "carers?\", or use --jsonl to read questions from stdin.")
    from assistant.answer.query import clean_question

    clean_question(args.question, settings.max_question_chars)  # fail before loading
    assistant = _load(settings)
    answer = assistant.ask(args.question, k=args.k, doc_ids=args.doc)
    if args.json:
        print(answer.model_dump_json(indent=2))
    else:
        print(format_answer(answer))
    return 0


def _ask_jsonl(args, settings: Settings) -> int:
    assistant = _load(settings)
    status = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        question = line.rstrip("\n")
        try:
            question, history = read_jsonl_line(line)
            answer = assistant.ask(question, k=args.k, doc_ids=args.doc, history=history)
            sys.stdout.write(answer.model_dump_json() + "\n")
        except AssistantError as exc:
            sys.stdout.write(json.dumps({"question": question, "error": str(exc)}) + "\n")
            status = 1
        sys.stdout.flush()
    return status


def read_jsonl_line(line: str) -> tuple[str, list[dict] | None]:
    """A question line of `ask --jsonl`: plain text, or a JSON object
    {"question": ..., "history": [{"question": ..., "answer": ...}, ...]}."""
    text = line.strip()
    if not text.startswith("{"):
        return line.rstrip("\n"), None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AssistantError(f"The line is not valid JSON ({exc.msg}); give a question as "
                             "plain text or as {\"question\": ..., \"history\": [...]}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("question"), str):
        raise AssistantError('A JSON line needs a "question" string.')
    history = data.get("history")
    if history is not None and not (isinstance(history, list)
                                    and all(isinstance(t, dict) for t in history)):
        raise AssistantError('"history" must be a list of {"question": ..., "answer": ...}.')
    return data["question"], history


def _objectives(args, settings: Settings) -> int:
    from assistant.answer.query import clean_question

    clean_question(args.query, settings.max_question_chars)
    assistant = _load(settings)
    matches = assistant.objectives(args.query, k=args.k, doc_ids=args.doc)
    if args.json:
        print(json.dumps([m.model_dump() for m in matches], indent=2, ensure_ascii=False))
        return 0
    for i, m in enumerate(matches, start=1):
        doc = assistant.index.documents[m.doc_id]
        print(f"{i}. Objective {m.number} of {doc.short_title or doc.title} "
              f"(score {m.score:.2f})\n   {m.title}")
    return 0


def _eval(args, settings: Settings) -> int:
    from assistant.evaluate.report import run_cli

    return run_cli(settings, out_dir=args.out, baselines=not args.no_baselines,
                   set_gates=args.set_gates, calibrate_only=args.calibrate,
                   targets=args.targets, names=args.sets, history=not args.no_history)


def _docs(args, settings: Settings) -> int:
    from assistant.search.backends import load_data

    index = load_data(settings)
    for d in index.manifest["documents"]:
        print(f"{d['doc_id']:28} {d['passages']:4} passages  {d['pages'] or '-':>3} pages  "
              f"{d['title']}")
    return 0


def _serve(args, settings: Settings) -> int:
    from assistant.api import serve

    if not 1 <= args.port <= 65535:
        raise AssistantError(f"--port {args.port} is not a port number (1-65535).")
    if args.workers < 1:
        raise AssistantError("--workers must be at least 1.")
    logging.getLogger("assistant").setLevel(logging.INFO)  # access logs, one JSON line each
    serve(settings, host=args.host, port=args.port, workers=args.workers)
    return 0


def format_answer(answer) -> str:
    """Plain-text rendering of an Answer for the terminal."""
    lines = [answer.answer, ""]
    sources = answer.closest if answer.refused else answer.citations
    if sources:
        lines.append("Closest passages:" if answer.refused else "Sources:")
        for c in sources:
            where = ", ".join(x for x in (
                c.section or None,
                f"para {c.paragraph}" if c.paragraph else None,
                f"p. {c.page}" if c.page else None) if x)
            lines.append(f"  [{c.marker}] {c.title}" + (f" ({where})" if where else ""))
            if answer.refused:
                lines.append(f"      \u201c{c.quote}\u201d")
            if c.as_printed:
                lines.append("      as printed in the document: "
                             + ", ".join(f"\u201c{w}\u201d" for w in c.as_printed))
    if answer.read_with_history:
        lines.insert(0, f"(read with the previous question as: {answer.read_with_history})")
    for heading, falls in (("Falls under:", True), ("Related objectives:", False)):
        shown = [o for o in answer.objectives if o.falls_under == falls]
        if shown:
            lines.append(heading)
        for o in shown:
            lines.append(f"  - Objective {o.number} ({o.doc_id}): {o.title} [{o.score:.2f}]")
    return "\n".join(lines)


_COMMANDS = {"ingest": _ingest, "ask": _ask, "objectives": _objectives, "eval": _eval,
             "docs": _docs, "serve": _serve}
