"""BENCHMARKS.md from a run's figures: the targets, every section's table, and the findings
(what was adopted and why, the targets missed and why, changes needed elsewhere)."""

from __future__ import annotations

from bench import scale as scale_module

TARGETS = {  # (label, unit, bar, lower is better)
    "ask_p95_ms": ("warm ask p95, shipped corpus", "ms", 50, True),
    "ask_p95_1m_ms": ("warm ask p95, 1M passages", "ms", 150, True),
    "passages_per_s": ("embedding throughput (corpus passages)", "passages/s", 150, False),
    "pdf_texts_per_s": ("ingest of a 160-page PDF never seen (whole process)", "texts/s", 150,
                        False),
    "cold_start_s": ("cold start to first answer", "s", 5, True),
    "index_1m_gib": ("1M-passage index, resident memory", "GiB", 4, True),
}



def target_figures(r: dict) -> dict:
    """The five figures the targets are about (None where not measured in this run)."""
    scale = r.get("scale", {})
    big = scale.get(str(max(map(int, scale)))) if scale else None
    one_m = scale.get("1000000")
    default = r["default_backend"]
    return {
        "ask_p95_ms": r["warm"]["ask"]["p95"],
        "ask_p95_1m_ms": one_m["ask_ms"]["p95"] if one_m else None,
        "passages_per_s": r["embedding"]["backends"][default]["passages_per_s"],
        "pdf_texts_per_s": (r["pdf_ingest"]["ingest_texts_per_s"] if r.get("pdf_ingest")
                            else None),
        "cold_start_s": r["cold"][default]["median_s"],
        "index_1m_gib": one_m["memory"]["process_rss_mib"] / 1024 if one_m else None,
        "_largest": big["n_passages"] if big else None,
    }


def _met(key: str, value) -> str:
    if value is None:
        return "not run"
    _, _, bar, lower = TARGETS[key]
    ok = value <= bar if lower else value >= bar
    if ok:
        return "met"
    miss = value / bar if lower else bar / value
    return f"missed ({miss:.1f}x)"


def _f(x, digits: int = 1) -> str:
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def render(r: dict) -> str:
    m = r["machine"]
    figs = target_figures(r)
    default = r["default_backend"]
    L = ["# Benchmarks", "",
         "Written by `python -m bench.run` (bench/); numbers are from the run described here.",
         "",
         f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, {m['os']}; "
         f"Python {m['python']}, torch {m['torch']}, onnxruntime {m['onnxruntime']}, "
         f"faiss {m['faiss']}, numpy {m['numpy']}.",
         f"- The 2 cores were shared with other work during the run (load average "
         f"{m['load_average_at_start'][0]} at the start, "
         f"{m.get('load_average_at_end', ['?'])[0]} at the end): latencies are noisy and "
         "higher than on an idle machine.",
         f"- Run: {r['started']}, {'quick' if r['quick'] else 'full'} run. Reproduce with "
         f"`.venv/bin/python -m bench.run{' --quick' if r['quick'] else ''}"
         f"{' --scale ' + ','.join(r.get('scale', {}).keys()) if r.get('scale') else ''}`.",
         f"- Embedding backend in use: `{default}` (ASSISTANT_EMBEDDING_BACKEND).",
         "", "## Targets", "", "| target | bar | measured | |", "|---|---|---|---|"]
    for key, (label, unit, bar, lower) in TARGETS.items():
        L.append(f"| {label} | {'<=' if lower else '>='} {bar} {unit} | "
                 f"{_f(figs[key], 2 if unit == 'GiB' else 1)} {unit} | {_met(key, figs[key])} |")

    one_m = r.get("scale", {}).get("1000000")
    L += ["", "Targets are judged on: `Assistant.ask` warm p95 (shipped corpus; and the shipped "
          "corpus plus 1M synthetic passages, see Scale); passages of the shipped corpus "
          "embedded per second by the default backend; `python -m assistant ask` from process "
          "start to exit; resident memory of the whole 1M-passage query process"
          + (f" (the FAISS index alone: {one_m['memory']['faiss_mib'] / 1024:.2f} GiB)"
             if one_m else "") + ". Findings, decisions and misses are explained at the end."]
    w = r["warm"]
    L += ["", "## Query (shipped corpus)", "",
          f"Warm latency over {r['questions']} questions: the 160 of eval/questions.jsonl, the "
          "62 of eval/calibration.jsonl, and reworded variants of random ones (a prefix such "
          "as \"In the draft mandate, \" and/or a suffix such as \" (short answer)\"). Model "
          "and index loaded; the question-vector memo is cleared before every question, so "
          "each pays for its embedding.", "",
          "| step | p50 ms | p95 ms | p99 ms | mean ms |", "|---|---|---|---|---|"]
    for name, label in [("retrieval", "retrieval only (`Retriever.search`, k=5)"),
                        ("objectives", "objective mapping (`Assistant.objectives`)"),
                        ("ask", "full `Assistant.ask`")]:
        s = w[name]
        L.append(f"| {label} | {_f(s['p50'])} | {_f(s['p95'])} | {_f(s['p99'])} | "
                 f"{_f(s['mean'])} |")
    steps = w["ask_steps_mean_ms"]
    L += ["", "Where `ask` spends its time (mean ms, its own `timings_ms`): " + ", ".join(
        f"{k} {v:.1f}" for k, v in steps.items()) + "."]
    p = r["profile"]
    L += ["", f"Profile of `ask` (pyinstrument, {p['questions']} questions, "
          f"{p['total_s']:.1f} s sampled). Time by the project function it was spent under "
          "(with the library calls it makes), and by library:", "",
          "| project function | share | | library | share |", "|---|---|---|---|---|"]
    for f_row, l_row in zip(p["by_function"], p["by_library"] + [None] * 20, strict=False):
        lib = (f"`{l_row['name']}` | {l_row['share'] * 100:.1f}%" if l_row else " | ")
        L.append(f"| `{f_row['name']}` | {f_row['share'] * 100:.1f}% | | {lib} |")
    c = r["cold"]
    L += ["", "Cold start: `python -m assistant ask \"Which objective covers carers?\" --json` "
          "from process start to exit (interpreter, imports, index load, model load, one "
          "answer), ONNX export already cached; peak memory is that process's own maximum "
          "resident set.", "", "| backend | median s | min s | max s | peak RSS MiB |",
          "|---|---|---|---|---|"]
    for b, s in c.items():
        L.append(f"| {b} | {_f(s['median_s'], 2)} | {_f(s['min_s'], 2)} | "
                 f"{_f(s['max_s'], 2)} | {_f(s['peak_rss_mib'], 0)} |")
    sa = r["serve_all"]
    L += ["", f"All {sa['questions']} questions through one `assistant ask --jsonl` process: "
          f"{sa['wall_s']:.1f} s wall in all (start-up included), peak memory "
          f"{sa['peak_rss_mib']:.0f} MiB."]

    sb = r["side_by_side"]
    L += ["", "## Side by side: llama-index's default pipeline", "",
          f"The same {r['questions']} questions, same model and backend, k=10: llama-index's "
          f"SentenceSplitter ({sb['chunks']} chunks, built in {sb['build_s']:.1f} s), "
          "VectorStoreIndex and plain retriever, against the project's hybrid retrieval "
          "(`Retriever.search`). Quality: the evaluation's retrieval metrics on "
          "eval/questions.jsonl (a llama-index chunk counts for every passage it overlaps).",
          "", "| system | p50 ms | p95 ms | recall@1 | recall@5 | hit@5 | MRR@10 | nDCG@10 |",
          "|---|---|---|---|---|---|---|---|"]
    for name in ("project", "llama-index", "llama-index, torch"):
        lat = sb["latency"][name]
        met = sb["metrics"].get(name.split(",")[0], {})
        L.append(f"| {name} | {_f(lat['p50'])} | {_f(lat['p95'])} | "
                 + " | ".join(_f(met.get(k), 3) for k in
                              ("recall@1", "recall@5", "hit@5", "mrr@10", "ndcg@10")) + " |")
    L += ["", "\"llama-index\" runs the model through the project's backend, as the project "
          "does; \"llama-index, torch\" runs it as llama-index would out of the box "
          "(sentence-transformers on PyTorch); quality is the same for both. Ratio of "
          f"llama-index's latency to the project's: p50 {sb['ratio_p50']:.2f}x, "
          f"p95 {sb['ratio_p95']:.2f}x with the same backend; p50 {sb['ratio_torch_p50']:.2f}x, "
          f"p95 {sb['ratio_torch_p95']:.2f}x with PyTorch (above 1: the project is faster). "
          "Most of either pipeline's time per question is the same embedding, so with the "
          "same backend the two are within noise of each other although the project also "
          "runs BM25, a sentence re-rank and fusion; the project's gain in speed is its "
          "backend, and its gain in quality is the table's."]

    e = r["embedding"]
    L += ["", "## Embedding backends", "",
          f"Throughput on the shipped corpus's {e['passages']} passages as ingest embeds them "
          f"(section heading + body, {e['mean_passage_chars']:.0f} characters on average), "
          f"and on all {e['texts']} texts an ingest embeds (passages, sentences, objectives, "
          "headings); best of the repeats, wall clock, all cores. Per CPU-second is the "
          "same work divided by the CPU time used (less sensitive to the shared cores). "
          "Query: one question at a time.", "",
          "| backend | load s (imports done) | passages/s | passages per CPU-s | texts/s | "
          "query p50 ms | "
          "cosine to torch (min / mean) |", "|---|---|---|---|---|---|---|"]
    for b, s in e["backends"].items():
        L.append(f"| {b}{' (default)' if b == default else ''} | {_f(s['load_s'], 2)} | "
                 f"{_f(s['passages_per_s'])} | {_f(s['passages_per_cpu_s'])} | "
                 f"{_f(s['texts_per_s'])} | {_f(s['query_ms']['p50'], 2)} | "
                 f"{s['cos_to_torch_min']:.5f} / {s['cos_to_torch_mean']:.5f} |")
    ex = r["export"]
    L += ["", f"One-off ONNX export from the bundled weights (first use on a machine, "
          f"offline, PyTorch already imported): {ex['export_fp32_s']:.1f} s, int8 "
          f"quantisation {ex['quantize_int8_s']:.1f} s more; a fresh process also pays "
          "PyTorch's import, a few seconds, once per machine.", "",
          "Evaluation (eval/questions.jsonl) with the index built and queried by each backend:",
          ""]
    sc = r["scores"]
    keys = list(next(iter(sc.values())).keys())
    L += ["| metric | " + " | ".join(sc) + " |", "|---" * (len(sc) + 1) + "|"]
    for k in keys:
        L.append(f"| {k} | " + " | ".join(_f(sc[b][k], 1 if k == 'build_s' else 3)
                                         for b in sc) + " |")

    L += _pdf_ingest(r.get("pdf_ingest"))
    g = r["ingest"]
    L += ["", "## Ingestion", "",
          f"A corpus of {g['corpus']['documents']} documents: the 5 shipped ones plus "
          f"{g['corpus']['synthetic_files']} synthetic policies (numbered paragraphs drawn "
          "from the real ones, each made unique), 6 of them typeset as PDFs with reportlab; "
          f"{g['corpus']['passages']} passages, {g['corpus']['sentences']} sentences.", "",
          "| figure | value |", "|---|---|",
          f"| PDF parsing and clean-up | {g['pdf']['pages_per_s']:.1f} pages/s "
          f"({g['pdf']['pages']} pages in {g['pdf']['seconds']:.2f} s) |",
          f"| full index build, from nothing | {g['full_build']['seconds']:.1f} s "
          f"({g['full_build']['embedded']} texts embedded, "
          f"{g['full_build']['texts_per_s']:.0f}/s end to end) |",
          f"| passages embedded per second (default backend, shipped passages; see "
          f"Embedding backends) | {r['embedding']['backends'][default]['passages_per_s']:.0f} |",
          f"| re-ingest, one document changed | {g['reingest_one_changed']['seconds']:.1f} s "
          f"({g['reingest_one_changed']['embedded']} texts embedded, "
          f"{g['reingest_one_changed']['reused']} reused) |",
          f"| re-ingest, nothing changed | {g['reingest_unchanged']['seconds']:.1f} s |",
          f"| shipped corpus (5 documents), full build | {r['shipped_build_s']:.1f} s |"]

    if r.get("scale"):
        L += ["", "## Scale", "", (scale_module.__doc__ or "").split("\n\n", 1)[1]
              .strip(), "",
              "FAISS alone (search for the retriever's 50 candidates, one question at a time; "
              "recall@10 against exact search on the real questions):", "",
              "| passages | index | build s | size MiB | memory added MiB | search p50 ms | "
              "p95 ms | recall@10 |", "|---|---|---|---|---|---|---|---|"]
        for _n, s in r["scale"].items():
            for kind, f in s["faiss"].items():
                L.append(f"| {s['n_passages']:,} | {kind} ({f['type']}) | {f['build_s']:.1f} | "
                         f"{f['bytes'] / 2**20:.0f} | {f['rss_added_mib']:.0f} | "
                         f"{f['search_ms']['p50']:.2f} | {f['search_ms']['p95']:.2f} | "
                         f"{f['recall@10']:.3f} |")
        L += ["", "The real query path over the same corpus (the index `make_faiss` picks, "
              "`make_bm25`, `Retriever.search`, `Assistant.ask` with the objective mapper):", "",
              "| passages | FAISS | BM25 build s | retrieval p50 / p95 / p99 ms | ask p50 / p95 / "
              "p99 ms | ask steps (mean ms) | process RSS GiB | peak GiB |",
              "|---|---|---|---|---|---|---|---|"]
        for _n, s in r["scale"].items():
            rt, ak, mem = s["retrieval_ms"], s["ask_ms"], s["memory"]
            steps = ", ".join(f"{k} {v:.0f}" for k, v in s["ask_steps_mean_ms"].items()
                              if k != "total")
            mark = " *" if s.get("separate_run") else ""
            L.append(f"| {s['n_passages']:,}{mark} | {s['chosen_type']} | "
                     f"{s['bm25']['build_s']:.1f} "
                     f"| {rt['p50']:.1f} / {rt['p95']:.1f} / {rt['p99']:.1f} | {ak['p50']:.1f} / "
                     f"{ak['p95']:.1f} / {ak['p99']:.1f} | {steps} | "
                     f"{mem['process_rss_mib'] / 1024:.2f} | {mem['peak_rss_mib'] / 1024:.2f} |")
        if any(s.get("separate_run") for s in r["scale"].values()):
            when = ", ".join(sorted({s.get("measured_at", "?") for s in r["scale"].values()
                                     if s.get("separate_run")}))
            L += ["", "\\* measured by its own `python -m bench.scale` process, passed in with "
                  f"`--scale-result` (measured {when}): its figures are that run's, with the "
                  "code of that time, not this run's."]
        big = r["scale"][max(r["scale"], key=int)]
        mem = big["memory"]
        parts = [("the process before the synthetic corpus (model, shipped index, imports)",
                  mem["before_corpus_rss_mib"]),
                 (f"FAISS index ({big['chosen_type']}), read from disk", mem["faiss_mib"]),
                 ("BM25 index, loaded memory-mapped", mem["bm25_mib"]),
                 ("Passage and Document objects (texts, offsets, sentences)",
                  mem.get("passages_mib", 0.0))]
        rest = mem["process_rss_mib"] - sum(v for _, v in parts)
        parts.append(("the rest: vector pages touched, the Assistant's own structures", rest))
        L += ["", f"Resident memory of the {big['n_passages']:,}-passage query process, "
              f"by part (MiB). The passage and sentence vectors are float16 files "
              f"({mem['passage_vectors_mib']:,.0f} + {mem['sentence_vectors_mib']:,.0f} MiB), "
              "memory-mapped: only the rows a question scores are paged in. The BM25 score "
              f"arrays on disk are {big['bm25']['bm25s_arrays_mib']:,.0f} MiB, also mapped. "
              f"The build that wrote these files peaked at "
              f"{big.get('build_peak_rss_mib', 0) / 1024:.2f} GiB in its own process.", "",
              "| part | MiB |", "|---|---|"]
        L += [f"| {name} | {value:,.0f} |" for name, value in parts]
        L.append(f"| **total** | **{mem['process_rss_mib']:,.0f}** |")
        loaded, asked = mem.get("split_after_load_mib"), mem.get("split_after_questions_mib")
        if loaded and asked and None not in (*loaded.values(), *asked.values()):
            L += ["", f"By kind: after loading, {loaded['anon']:,.0f} MiB is the process's own "
                  f"memory and {loaded['file']:,.0f} MiB pages of memory-mapped index files; "
                  f"after the {big['ask_ms']['n']} questions, {asked['anon']:,.0f} and "
                  f"{asked['file']:,.0f} MiB. The mapped pages are the rows questions "
                  "scored; the kernel drops them under memory pressure and reads them again "
                  "when needed."]
    L += findings(r)
    L += ["", "## Raw figures", "", "Every number above, and more, is written as JSON to "
          "`$BENCH_TMP/last-run.json` (default /tmp/assistant-bench) by each run.", ""]
    return "\n".join(L)


def _pdf_ingest(pi: dict | None) -> list[str]:
    """The ingest-speed section: a 160-page PDF, the whole process, beside the reference."""
    if not pi:
        return []
    return ["", "## Ingest speed against the reference", "",
            f"One {pi['pages']}-page PDF the project has never seen (typeset by the bench from "
            "the corpus's paragraphs, each made unique), ingested alone from nothing by a fresh "
            "`build_index` process: wall clock from process start to exit (imports, reading, "
            "clean-up, structure, embedding, writing). Then, in the bench's own process, the "
            f"same {pi['texts']} texts (an evenly spaced sample of the "
            f"{pi.get('ingest_texts', pi['texts'])} it embedded) embedded by the default "
            "backend alone and by plain "
            "sentence-transformers (PyTorch, batch 32): the reference, measured in the same "
            "run, so the ratios hold on a shared machine where absolute figures do not.", "",
            "| figure | texts/s | ratio to reference |", "|---|---|---|",
            f"| whole ingest process, `{pi.get('backend', 'onnx')}` ({pi['embedded']} texts "
            f"embedded in {pi['whole_process_s']:.1f} s, peak {pi['child_peak_mib']:.0f} MiB) | "
            f"{pi['ingest_texts_per_s']:.1f} | {pi['ratio_ingest_to_reference']:.2f}x |",
            *[f"| {b}{' (default)' if b == pi.get('backend') else ''}, embedding only | "
              f"{v:.1f} | {v / pi['reference_texts_per_s']:.2f}x |"
              for b, v in pi.get("backends_texts_per_s",
                                 {"default backend": pi["backend_texts_per_s"]}).items()],
            f"| reference: sentence-transformers, PyTorch | {pi['reference_texts_per_s']:.1f} "
            "| 1.00x |", "",
            *([f"The ingest process used {pi['child_cpu_s']:.1f} CPU-seconds in "
               f"{pi['whole_process_s']:.1f} s of wall clock "
               f"({pi['ingest_texts_per_cpu_s']:.1f} texts per CPU-second, "
               f"{2 * pi['ingest_texts_per_cpu_s']:.0f}/s if it had had both cores to "
               f"itself); load average {pi['load_average_before']:.1f} before it, "
               f"{pi['load_average_after']:.1f} after the reference.", ""]
              if "child_cpu_s" in pi else []),
            "The physical limit on two cores (one MiniLM-L6 forward pass over a 64-token "
            "sentence is ~3 GFLOP): roughly 150-250 sentences/s at int8 and half that at "
            "float32."]


HIGHER_IS_WORSE = {"false_refusal_rate", "build_s"}


def adoption(r: dict) -> dict:
    """Apply the rule: the fastest backend (passages/s) whose evaluation scores do not drop
    below PyTorch's on any metric. Returns the pick and, per backend, the metrics that drop."""
    scores, speed = r["scores"], r["embedding"]["backends"]
    base = scores.get("torch")
    drops = {}
    for b, sc in scores.items():
        if base is None:
            drops[b] = []
            continue
        drops[b] = [k for k, v in sc.items() if k not in HIGHER_IS_WORSE and v < base[k] - 1e-9]
        if sc.get("false_refusal_rate", 0) > base.get("false_refusal_rate", 0) + 1e-9:
            drops[b].append("false_refusal_rate")
    ok = [b for b in scores if not drops[b]]
    pick = max(ok, key=lambda b: speed[b]["passages_per_s"]) if ok else None
    return {"pick": pick, "drops": drops}


def findings(r: dict) -> list[str]:
    """The decisions this run supports and the targets it misses, in words and numbers."""
    e, default = r["embedding"]["backends"], r["default_backend"]
    a = adoption(r)
    cold = r["cold"]
    L = ["", "## What was adopted, and why", ""]
    torch_cold = cold.get("torch", {}).get("median_s")
    int8_drops = a["drops"].get("onnx-int8")
    L.append(
        f"- **Embedding: `{default}` is the default.** Rule: the fastest backend whose "
        "evaluation figures stay inside the float32 figures' intervals on every dev set "
        "(`assistant eval`, index rebuilt by each backend; test sets reported, never chosen "
        "on), whose answers pass the behavioural tests, and whose vector for a text does not "
        "depend on the other texts embedded with it. "
        f"ONNX float32 embeds {e['onnx']['passages_per_s']:.0f} passages/s against PyTorch's "
        f"{e['torch']['passages_per_s']:.0f}, answers a question's embedding in "
        f"{e['onnx']['query_ms']['p50']:.1f} ms against {e['torch']['query_ms']['p50']:.1f}, "
        "and gives the same vectors (cosine 1.00000, identical evaluation). "
        + (f"int8 embeds {e['onnx-int8']['passages_per_s']:.0f} passages/s "
           f"({e['onnx-int8']['passages_per_cpu_s']:.0f} per CPU-second against float32's "
           f"{e['onnx']['passages_per_cpu_s']:.0f}) at cosine "
           f"{e['onnx-int8']['cos_to_torch_mean']:.3f} to PyTorch (mean), and its evaluation "
           "figures stay inside the float32 intervals on every dev set. ONNX Runtime "
           "quantises activations per run, so in padded batches a text's int8 vector "
           "depended on its batch (a question alone and beside three other texts: cosine "
           "0.992); every text now runs alone, unpadded, one text per core at a time, which "
           "costs nothing per CPU-second (no padding is computed) and makes a text's vector "
           "the same whatever is embedded beside it (a test holds this for both ONNX "
           "backends). So int8 meets the rule"
           + (" and is the default; `ASSISTANT_EMBEDDING_BACKEND=onnx` gives PyTorch's "
              "vectors exactly. " if default == "onnx-int8" else ". ")
           if "onnx-int8" in e else "")
        + "Neither ONNX backend imports PyTorch, so a cold start takes "
        f"{cold[default]['median_s']:.1f} s"
        + (f" instead of {torch_cold:.1f} s" if torch_cold else "") + ". "
        + (f"On eval/questions.jsonl alone int8 is below PyTorch on "
           f"{', '.join(int8_drops)} (and above on others). " if int8_drops else "")
        + f"The stricter rule (no figure below PyTorch's at all) picks `{a['pick']}`. "
        "ONNX Runtime's offline transformer optimiser (fused attention, LayerNorm, GELU) "
        "was measured and not adopted: session start already applies the same fusions, "
        "and quantising the fused graph was no faster than quantising the plain one. "
        "sentence-transformers' own ONNX backend "
        "needs optimum-onnx, whose only release pins transformers<4.58 while "
        "sentence-transformers 6 needs transformers>=5, so the two cannot be installed "
        "together; the project therefore exports the bundled weights with `torch.onnx` "
        "itself (offline, once, cached in ASSISTANT_MODEL_CACHE_DIR, default "
        "~/.cache/nhs-policy-assistant) and runs ONNX Runtime with the model's own "
        "tokenizer, mean pooling and normalisation, which is what that backend does.")
    sc = r.get("scale", {})
    if sc:
        rows = {int(n): v for n, v in sc.items()}
        npass = {n: v["n_passages"] for n, v in rows.items()}
        ex = {n: v["faiss"]["exact"]["search_ms"]["p95"] for n, v in rows.items()}
        ivf = {n: v["faiss"]["ivf"] for n, v in rows.items()}
        hn = {n: v["faiss"]["hnsw"] for n, v in rows.items() if "hnsw" in v["faiss"]}
        L.append(
            "- **FAISS by corpus size: exact search up to 50,000 passages, IVF with 8-bit "
            "codes above** (`EXACT_SEARCH_MAX`, `make_faiss`; the manifest's `faiss_index` "
            "records the type). Exact search p95 per question: " + ", ".join(
                f"{v:.1f} ms at {npass[n]:,}" for n, v in sorted(ex.items()))
            + "; it grows with the corpus, so past ~50k it would be the largest cost of a "
            "question after the embedding. IVF: " + ", ".join(
                f"{v['search_ms']['p95']:.1f} ms p95, recall@10 {v['recall@10']:.2f}, "
                f"built in {v['build_s']:.0f} s, {v['bytes'] / 2**20:.0f} MiB at "
                f"{npass[n]:,}" for n, v in sorted(ivf.items()))
            + ". Below the threshold exact search is cheap and IVF's recall is lower, so "
            "exact stays. HNSW for comparison: " + ", ".join(
                f"recall@10 {v['recall@10']:.2f}, built in {v['build_s']:.0f} s, "
                f"{v['bytes'] / 2**20:.0f} MiB at {npass[n]:,}"
                for n, v in sorted(hn.items()))
            + "; similar recall, slower to build, and it keeps float32 vectors, so IVF-SQ8 "
            "is the approximate index. Recall here is against exact search on synthetic "
            "vectors (see Scale); the retriever re-scores the fused candidates with exact "
            "cosines, so an approximate index can only change which candidates it sees.")
    st = r["warm"]["ask_steps_mean_ms"]
    prof = r["profile"]
    top = prof["by_function"][0]
    L.append(
        f"- **Query path.** On the shipped corpus a warm `ask` takes {st['total']:.1f} ms on "
        f"average, of which the query stage (the question's embedding, most of it) is "
        f"{st.get('query', st.get('embed', 0.0)):.1f} ms; the profile "
        f"puts {top['share'] * 100:.0f}% of the time under `{top['name']}`. Sentence "
        "splitting and sentence vectors are already done at ingest; nothing else of weight "
        "is left on the query path at this size. A question whose everyday wording the "
        "glossary reads as policy terms is embedded a second time in that reading, which "
        "is most of the gap between p50 and p95.")
    figs = target_figures(r)
    L += ["", "## Targets missed: by how much, and why", ""]
    if figs["passages_per_s"] is not None and figs["passages_per_s"] < 150:
        L.append(
            f"- **Embedding throughput: {figs['passages_per_s']:.0f} passages/s against 150 "
            f"({150 / figs['passages_per_s']:.1f}x short), `{default}`.** The corpus's "
            f"passages average {r['embedding']['mean_passage_chars']:.0f} characters (~80 "
            "tokens, up to 190); MiniLM-L6 costs ~21 MFLOP a token, so 150 passages/s needs "
            "~250 GFLOP/s of two shared AVX2 cores (this run: "
            + ", ".join(f"{b} {e[b]['passages_per_cpu_s']:.0f}" for b in e)
            + " passages per CPU-second). All texts of an ingest (sentences included, "
            "shorter) go at "
            + ", ".join(f"{b} {e[b]['texts_per_s']:.0f}/s" for b in e)
            + ". Re-ingest embeds only changed text, so a changed document costs under a "
            "second.")
    pi = r.get("pdf_ingest")
    if pi and pi["ingest_texts_per_s"] < 150:
        L.append(
            f"- **Ingest of a {pi['pages']}-page PDF: {pi['ingest_texts_per_s']:.0f} texts/s "
            f"against 150 ({150 / pi['ingest_texts_per_s']:.1f}x short), "
            f"{pi['ratio_ingest_to_reference']:.2f}x the in-run reference.** Of the whole "
            "process, embedding is the largest part and reading the PDF (layout and clean-up) "
            "the next (`python -m bench.profile_ingest` prints the profile); with one file "
            "there is no next document to read while it is embedded, so that overlap helps "
            "only ingests of several files."
            + (f" The process had {pi['child_cpu_s'] / pi['whole_process_s']:.2f} cores of "
               f"the two on average (load average {pi['load_average_before']:.1f})."
               if "child_cpu_s" in pi else ""))
    if figs["index_1m_gib"] is not None:
        mem = sc["1000000"]["memory"]
        L.append(
            f"- **1M passages in memory: {figs['index_1m_gib']:.2f} GiB resident "
            f"({'within' if figs['index_1m_gib'] <= 4 else 'over'} the 4 GiB bar), for the "
            "whole query process, loaded from disk as after an ingest.** Passage and sentence "
            "vectors are float16 files, memory-mapped "
            f"({(mem['passage_vectors_mib'] + mem['sentence_vectors_mib']) / 1024:.2f} GiB on "
            "disk, paged in only where a question scores them); BM25's score arrays are "
            "memory-mapped too; the FAISS index (IVF, 8-bit codes) takes "
            f"{mem['faiss_mib'] / 1024:.2f} GiB; a million Passage and Document objects "
            f"{mem.get('passages_mib', 0) / 1024:.2f} GiB, the largest part left (columns "
            "instead of objects would shrink it).")
    if figs["ask_p95_1m_ms"] is not None:
        big = sc.get("1000000")
        L.append(
            f"- At 1M passages `ask` p95 is {figs['ask_p95_1m_ms']:.0f} ms "
            f"({'within' if figs['ask_p95_1m_ms'] <= 150 else 'over'} the 150 ms bar; mean "
            f"ms by stage: {_steps(big['ask_steps_mean_ms'])}). The objective mapper compares "
            "the question only with the objectives' own sentences, and a question for one "
            "fact scans the sentences of the passages the store finds closest rather than "
            "every sentence (a full scan took 515 ms a question at this size).")
    L += ["", "## Left to do", "",
          "- Passages held in columns (memory-mapped text and offsets) rather than a million "
          "`Passage` objects: the largest part of the 1M-passage process left.",
          "- Reading a PDF's pages (assistant/ingest/pagelines.py, every character's box and "
          "face through pdfium) is the largest cost of a one-file ingest after embedding; a "
          "long PDF's pages are already read by a process per core, but a document's "
          "structure needs all its pages, so its embedding cannot start before they are "
          "read.",
          "- Consider `faiss.omp_set_num_threads(1)` for one-question searches on a shared "
          "2-core machine (exact search at 10k: ~3 ms on one thread against ~20 ms on two "
          "when the other core was busy).",
          "- Embed the question and its glossary reading in one batch rather than two calls."]
    return L


def _steps(steps: dict) -> str:
    return ", ".join(f"{k} {v:.0f}" for k, v in steps.items() if k != "total")
