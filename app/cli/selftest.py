"""`docent self-test` (`docent --self-test` in an installer): prove this install works, offline.

In a temporary data folder it indexes the bundled sample PDF and a text file, answers one
question with the model given on the command line, checks that the answer's sources cite
the sample PDF's first page, and prints one JSON report. Exit 0 only when every check
passed. Every non-loopback connection is refused in this process while it runs (and
recorded: the report lists any attempt), so a run proves the bundle needs no network.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import socket
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, cast

SAMPLE_PDF = "lighthouse-log.pdf"
SAMPLE_TEXT = "field-notes.txt"
QUESTION = "When was the lighthouse on Corran Point first lit?"
EXPECTED_FACT = "1871"  # in the PDF only; a tiny model may not repeat it, so it is reported, not required
OCR_LINE = "Corran Point light first lit in 1871"  # drawn into an image, read back by OCR


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class SelfTestReport:
    ok: bool = False
    version: str = ""
    frozen: bool = False
    platform: str = ""
    python: str = ""
    model: str = ""
    llama_variant: str | None = None
    llama_reason: str = ""
    llama_lib_dir: str | None = None
    answer: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    cited_numbers: list[int] = field(default_factory=list)
    mentions_fact: bool = False
    network_attempts: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    error: str = ""

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, bool(ok), detail))
        return bool(ok)


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    import ipaddress

    host = address[0] if isinstance(address, tuple) and address else address
    try:
        return ipaddress.ip_address(host).is_loopback  # type: ignore[arg-type]  # any object: ValueError below
    except ValueError:
        return host == "localhost"


def _is_ip_literal(host: object) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host)  # type: ignore[arg-type]  # any object: ValueError below
        return True
    except ValueError:
        return False


@contextmanager
def refuse_network(attempts: list[str]) -> Iterator[None]:
    """Refuse (and record) every non-loopback connect and DNS lookup in this process."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def guard(address: object) -> None:
        if not _is_loopback(address):
            attempts.append(repr(address))
            raise ConnectionRefusedError(f"networking is off here: {address}")

    def connect(self, address):
        guard(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        guard(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in (None, "localhost") and not _is_ip_literal(host):  # a name: a DNS query
            attempts.append(f"dns {host!r}")
            raise socket.gaierror(f"networking is off here: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex  # type: ignore[method-assign]  # the guard
    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex  # type: ignore[method-assign]  # restored
        socket.getaddrinfo = real_getaddrinfo


def run_self_test(model: Path, keep: Path | None = None, max_tokens: int = 48) -> SelfTestReport:
    """Everything but printing: index the samples, ask, check; never raises."""
    from app.version import app_version

    report = SelfTestReport(version=app_version(), frozen=bool(getattr(sys, "frozen", False)),
                            platform=f"{platform.system()} {platform.machine()}",
                            python=platform.python_version(), model=str(model))
    t0 = time.perf_counter()
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="docent-selftest-"))
    try:
        with refuse_network(report.network_attempts):
            _run(report, model, work, max_tokens)
    except Exception as e:  # a broken install must end in a report, not a traceback
        report.error = f"{type(e).__name__}: {e}"
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    report.check("no network connection attempted", not report.network_attempts,
                 ", ".join(report.network_attempts))
    report.seconds["total"] = round(time.perf_counter() - t0, 3)
    report.ok = not report.error and all(c.ok for c in report.checks)
    return report


def _run(report: SelfTestReport, model: Path, work: Path, max_tokens: int) -> None:
    import os

    from app.models.cpu_variant import select_llama_library
    from app.offline import enforce_offline
    from app.resources import resource_dir

    enforce_offline()
    choice = select_llama_library()  # before llama_cpp loads; a no-op if the entry point chose
    report.llama_variant = choice.variant.value if choice.variant else None
    report.llama_reason, report.llama_lib_dir = choice.reason, str(choice.lib_dir or "") or None

    samples = resource_dir() / "samples"
    if not report.check("bundled samples present", (samples / SAMPLE_PDF).is_file()
                        and (samples / SAMPLE_TEXT).is_file(), str(samples)):
        return
    _check_ocr(report)
    if not report.check("model file exists", model.is_file(), str(model)):
        return
    docs = work / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    pdf, text = (Path(shutil.copy2(samples / n, docs / n)) for n in (SAMPLE_PDF, SAMPLE_TEXT))
    home = work / "home"
    saved = os.environ.get("DOCENT_HOME")
    os.environ["DOCENT_HOME"] = str(home)  # nothing of the user's data folder is touched
    try:
        _index_and_ask(report, model, home, [pdf, text], max_tokens)
    finally:
        if saved is None:
            os.environ.pop("DOCENT_HOME", None)
        else:
            os.environ["DOCENT_HOME"] = saved


def _check_ocr(report: SelfTestReport) -> None:
    """The OCR models and onnxruntime are in the install: a line drawn with Pillow's own
    font is read back word for word."""
    from PIL import Image, ImageDraw, ImageFont

    from ingest.loaders.ocr_engine import OcrEngine

    t = time.perf_counter()
    image = Image.new("L", (1000, 140), 255)
    ImageDraw.Draw(image).text((30, 40), OCR_LINE, fill=0, font=ImageFont.load_default(size=36))
    try:
        read = OcrEngine().read(image).text
    except Exception as e:  # missing models or onnxruntime: a failed check, not a crash
        read = f"{type(e).__name__}: {e}"
    report.seconds["ocr"] = round(time.perf_counter() - t, 3)
    report.check("OCR reads a line from an image", read.split() == OCR_LINE.split(), read)


def _index_and_ask(report: SelfTestReport, model: Path, home: Path, files: list[Path],
                   max_tokens: int) -> None:
    from app.engine.library import Library
    from app.settings import Settings

    settings = Settings.load(home)
    settings.temperature = 0.0
    settings.max_answer_tokens = max_tokens
    with Library(settings) as lib:
        t = time.perf_counter()
        indexed = lib.indexer.index_paths(files)
        report.seconds["index"] = round(time.perf_counter() - t, 3)
        failures = "; ".join(f"{f.path}: {f.message}" for f in indexed.failures)
        if not report.check("sample PDF and text indexed", indexed.indexed == 2 and not failures,
                            failures or f"{indexed.indexed} indexed, {indexed.pages} pages"):
            return
        t = time.perf_counter()
        answer = _ask(lib, str(model), report)
        report.seconds["answer"] = round(time.perf_counter() - t, 3)
    if answer is None:
        return
    report.answer = answer.text
    report.cited_numbers = [c.number for c in answer.citations]
    report.sources = [{"number": s.number, "file": Path(s.passage.path).name,
                       "page_start": s.passage.page_start, "score": round(s.passage.score, 4)}
                      for s in answer.sources]
    report.mentions_fact = EXPECTED_FACT in answer.text
    report.check("model answered", bool(answer.text.strip()) and answer.completion_tokens > 0,
                 f"{answer.completion_tokens} tokens, {answer.finish_reason}")
    top = answer.sources[0].passage if answer.sources else None
    report.check("answer cites the sample PDF, page 1, as its first source",
                 top is not None and Path(top.path).name == SAMPLE_PDF and top.page_start == 1,
                 f"first source: {Path(top.path).name if top else None}, page {top.page_start if top else None}")
    wrong = [c.number for c in answer.citations if c.passage.name not in (SAMPLE_PDF, SAMPLE_TEXT)]
    report.check("every citation the model wrote resolves to a sample", not wrong, str(wrong or ""))


def _ask(lib, model: str, report: SelfTestReport):
    from app.engine.events import DoneEvent, ErrorEvent

    answerer = lib.answerer(model)
    try:
        answerer.load()
        for event in answerer.ask(QUESTION):
            if isinstance(event, ErrorEvent):
                report.check("model answered", False, event.message)
                return None
            if isinstance(event, DoneEvent):
                return event.answer
    finally:
        answerer.close()
    report.check("model answered", False, "the answer stream ended without an answer")
    return None


def _add_arguments(s: argparse.ArgumentParser) -> None:
    s.add_argument("--model", type=Path, help="GGUF file to answer with (default: the bundled SmolLM2 "
                                              "when installed, e.g. from source)")
    s.add_argument("--keep", type=Path, help="keep the temporary data folder here, for inspection")
    s.add_argument("--max-tokens", type=int, default=48, help="answer length (default 48)")


def _model_or_default(model: Path | None) -> Path | None:
    if model is not None:
        return model.expanduser()
    from app.resources import sample_model

    return sample_model()


def main(argv: list[str] | None = None) -> int:
    """`python -m app.cli.selftest`, and the frozen app's `--self-test`."""
    ap = argparse.ArgumentParser(prog="docent --self-test", description=__doc__.splitlines()[0])
    _add_arguments(ap)
    args = ap.parse_args(argv)
    return _report(args)


def _report(args: argparse.Namespace) -> int:
    model = _model_or_default(args.model)
    if model is None:
        print("docent: the self-test needs a model: --model /path/to/model.gguf", file=sys.stderr)
        return 2
    report = run_self_test(model, args.keep, args.max_tokens)
    print(json.dumps(asdict(report), indent=2, ensure_ascii=False))
    return 0 if report.ok else 1


# --- the window: started as a user starts it, reported once a main window shows --------
@dataclass
class WindowReport:
    ok: bool = False
    title: str = ""
    width: int = 0
    height: int = 0
    seconds_to_shown: float | None = None
    exit_code: int | None = None
    error: str = ""


def run_window_check(timeout_s: float = 120.0) -> WindowReport:
    """Run app.ui.app.main() in a temporary data folder; quit as soon as its window shows.

    app.exec() is wrapped to poll the top-level widgets, so the check needs nothing of the
    window's code beyond its main(), exactly what a user's click runs.
    """
    import os

    report = WindowReport()
    t0 = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="docent-windowcheck-"))
    saved = os.environ.get("DOCENT_HOME")
    os.environ["DOCENT_HOME"] = str(home)
    try:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication, QMainWindow

        from app.ui.app import main as window_main

        real_exec = QApplication.exec

        def exec_and_watch(*args: Any) -> int:
            app = cast("QApplication | None", QApplication.instance())  # typed QCoreApplication
            assert app is not None

            def poll() -> None:
                shown = [w for w in app.topLevelWidgets() if isinstance(w, QMainWindow) and w.isVisible()]
                if shown and report.seconds_to_shown is None:
                    report.seconds_to_shown = round(time.perf_counter() - t0, 3)
                    report.title, report.width, report.height = (
                        shown[0].windowTitle(), shown[0].width(), shown[0].height())
                    QTimer.singleShot(500, app.quit)  # let the core's first events arrive
                elif time.perf_counter() - t0 > timeout_s:
                    app.quit()

            timer = QTimer(app)
            timer.timeout.connect(poll)
            timer.start(50)
            return real_exec()  # static in PySide6: called bare

        QApplication.exec = exec_and_watch  # type: ignore[method-assign]  # watches the window come up
        try:
            report.exit_code = window_main(["docent"])
        except SystemExit as e:
            report.exit_code = e.code if isinstance(e.code, int) else 1
        finally:
            QApplication.exec = real_exec  # type: ignore[method-assign]  # restored
    except Exception as e:  # a broken bundle must end in a report
        report.error = f"{type(e).__name__}: {e}"
    finally:
        if saved is None:
            os.environ.pop("DOCENT_HOME", None)
        else:
            os.environ["DOCENT_HOME"] = saved
        shutil.rmtree(home, ignore_errors=True)
    report.ok = report.seconds_to_shown is not None and not report.error
    return report


def window_check_main(argv: list[str] | None = None) -> int:
    """The frozen app's `--window-check`: JSON on stdout, exit 0 when the window showed."""
    ap = argparse.ArgumentParser(prog="docent --window-check")
    ap.add_argument("--timeout", type=float, default=120.0)
    report = run_window_check(ap.parse_args(argv).timeout)
    print(json.dumps(asdict(report), indent=2))
    return 0 if report.ok else 1


# --- `docent self-test`: a command module of app.cli ----------------------------------------
def add_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("self-test", help="index a bundled sample, answer with a model, print a JSON report")
    _add_arguments(s)


def cmd_self_test(lib, args) -> int:
    return _report(args)  # its own temporary data folder: `lib` (the user's) is never opened


COMMANDS = {"self-test": cmd_self_test}

if __name__ == "__main__":
    sys.exit(main())
