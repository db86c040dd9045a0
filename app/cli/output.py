"""How the CLI shows reports, answers and status: text for people, JSON for scripts."""
from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from app.core.wire import Notice, StatusReply
from app.engine.events import Answer
from app.engine.prompt import NumberedSource
from app.engine.retrieval import snippet
from ingest.manifest import FileStatus
from ingest.pipeline import IndexReport, Progress

if TYPE_CHECKING:
    from app.engine.computation import Computation
    from app.engine.library import Library
    from app.settings import Settings


class IndexProgressBar:
    """tqdm bar fed by the indexer's Progress events."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, p: Progress) -> None:
        from tqdm import tqdm

        if p.phase == "scanned" and p.total:
            self.bar = tqdm(total=p.total, unit="file", desc="Indexing", leave=False)
        elif p.phase == "file_done" and self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(p.path.rsplit("/", 1)[-1][:40])

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def print_index_report(r: IndexReport) -> None:
    print(f"{r.indexed} indexed, {r.unchanged} unchanged, {r.removed} removed, "
          f"{len(r.failures)} failed; {r.chunks_added} chunks embedded in {r.seconds:.1f}s.")
    for f in r.failures:
        print(f"  ✗ {f.path}: {f.message}")


def consume_answer(events: Iterable[object], as_json: bool) -> Answer | None:
    """Stream an answer's events to the terminal; returns the answer, or None on error."""
    from app.engine.events import DoneEvent, ErrorEvent, ProgressEvent, TokenEvent

    for event in events:
        if isinstance(event, Notice):
            print(f"docent: warning: {event.text}", file=sys.stderr)
        elif isinstance(event, ProgressEvent) and not as_json:
            print(f"docent: {event.what}… ({event.done}/{event.total})", file=sys.stderr, flush=True)
        elif isinstance(event, TokenEvent) and not as_json:
            print(event.text, end="", flush=True)
        elif isinstance(event, ErrorEvent):
            logging.getLogger("docent.cli").error("answer failed: %s", event.message)
            print(f"docent: {event.message}", file=sys.stderr)
            return None
        elif isinstance(event, DoneEvent):
            if as_json:
                print(json.dumps(answer_json(event.answer), indent=2, ensure_ascii=False))
            else:
                print()
                print_checks(event.answer)
                print_sources(event.answer)
            return event.answer
    return None


def answer_json(a: Answer) -> dict[str, Any]:
    return {
        "question": a.question,
        "answer": a.text,
        "citations": [citation_json(c) for c in a.citations],
        "sources": [
            {"number": s.number, "path": s.passage.path, "page_start": s.passage.page_start,
             "page_end": s.passage.page_end, "score": round(s.passage.score, 4),
             "snippet": " ".join(s.passage.text.split())[:300], "found": s.passage.found.value}
            for s in a.sources
        ],
        "prompt_tokens": a.prompt_tokens,
        "cached_prompt_tokens": a.cached_tokens,
        "completion_tokens": a.completion_tokens,
        "ttft_s": round(a.ttft_s, 3),
        "seconds": round(a.seconds, 3),
        "finish_reason": a.finish_reason,
        "model": a.model,
        "grounding": {"status": a.grounding.status.value, "missing": list(a.grounding.missing),
                      "looked_at": a.grounding.looked_at, "note": a.grounding.note},
        "attributions": [{"sentence": t.sentence, "start": t.start, "end": t.end,
                          "sources": list(t.sources), "inferred": t.inferred} for t in a.attributions],
        "figures": [{"text": f.text, "start": f.start, "end": f.end, "status": f.status.value,
                     "cited": list(f.cited), "found_in": list(f.found_in)} for f in a.figures],
        "unverified_figures": [f.text for f in a.unverified_figures],
        "computation": computation_json(a.computation) if a.computation is not None else None,
    }


def citation_json(c: NumberedSource) -> dict[str, Any]:
    """A cited source as `--json` has always written it: the passage's place, a snippet and
    the words on the page."""
    p = c.passage
    return {"number": c.number, "path": p.path, "page_start": p.page_start, "page_end": p.page_end,
            "snippet": snippet(p.page_text, 300), "score": p.score, "spans": [asdict(s) for s in p.spans],
            "body": p.page_text, "inferred": c.inferred}


def computation_json(c: "Computation") -> dict[str, Any]:
    """A computed answer's inputs (each with its source and, in a table, its row and column),
    formula and result; numbers as exact strings."""
    return {
        "status": c.status.value, "formula": c.formula, "working": c.working,
        "result": c.result, "value": None if c.value is None else str(c.value), "unit": c.unit.value,
        "detail": c.detail,
        "inputs": [{"letter": i.letter, "label": i.label, "figure": i.text, "source": i.source,
                    "cited": i.cited, "value": str(i.quantity.value), "percent": i.quantity.percent,
                    "scale": str(i.scale), "row": i.cell.row if i.cell else None,
                    "column": i.cell.column if i.cell else None} for i in c.inputs],
        "missing": [{"letter": m.letter, "label": m.label, "figure": m.figure, "cited": m.cited}
                    for m in c.missing],
    }


def print_checks(a: Answer) -> None:
    """What Docent could not verify: figures, and an answer the passages do not support."""
    from app.engine.answer_marks import answer_notes

    for note in answer_notes(a):
        print(note)


def print_sources(a: Answer) -> None:
    cited = {c.number: c.inferred for c in a.citations}
    print("\nSources:" + ("  (* cited, ~ matched by Docent)" if any(cited.values()) else ""))
    for s in a.sources:
        p = s.passage
        mark = " " if s.number not in cited else ("~" if cited[s.number] else "*")
        where = f", {p.pages_label}" if p.pages_label else ""
        print(f" {mark}[{s.number}] {p.path}{where}  (score {p.score:.2f})")


def local_status(lib: "Library") -> StatusReply:
    """`docent status` answered in this process (the owner builds the same reply)."""
    return StatusReply.from_records(lib.manifest.all(), lib.settings.watched_folders,
                                    configured_model(lib.settings))


def configured_model(settings: "Settings") -> str:
    """The model answers would come from, without loading anything ("" when none is chosen)."""
    if settings.llm_backend == "remote":
        return f"{settings.remote_model or 'remote'} at {settings.remote_url}" if settings.remote_url else ""
    if settings.model_path:
        return str(Path(settings.model_path).expanduser())
    from app.models.selection import selected_model

    chosen = selected_model(settings.home)
    return str(chosen) if chosen else ""


def print_status(s: StatusReply) -> None:
    print(f"{s.files} files: {s.indexed} indexed ({s.chunks} chunks), {s.errors} with errors.")
    for r in s.records:
        if r.status == FileStatus.ERROR.value:
            print(f"  ✗ {r.path}: {r.error}")
        else:
            pages = f", {r.pages} pages" if r.pages else ""
            print(f"  {r.status:8} {r.path} ({r.chunks} chunks{pages})")
    if s.folders:
        print("Watched folders: " + ", ".join(s.folders))
    print(f"Model: {s.model or 'none chosen (`docent model download` or --model)'}")
    fast = s.pdf_fast_paths
    if fast is not None:
        print(f"PDF parsing: fast paths {'on' if fast.all_active else 'OFF (slower, same text)'}"
              f" (pypdf {fast.pypdf})")
    if s.served_by:
        print(f"(answered by the Docent process {s.served_by}" + (f", {s.state})" if s.state else ")"),
              file=sys.stderr)
