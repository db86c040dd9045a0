"""Build the installer for this platform: `make package` (or `python packaging/build.py`).

Runs PyInstaller on packaging/docent.spec in the current .venv (installed from the lock
by `make setup`), then packs the result for the platform:
- Linux: dist/docent-VERSION-linux-ARCH.tar.gz (the onedir, a .desktop entry, the icon and
  install-desktop-entry.sh) and an AppImage when `appimagetool` is on PATH.
- macOS: dist/Docent.app (BUNDLE in the spec), then packaging/macos/make_dmg.sh.
- Windows: dist/docent/, then packaging/windows/docent.iss with Inno Setup.
`--clean-tree` builds from `git archive HEAD`, so nothing uncommitted gets in.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

def log(msg: str) -> None:
    print(f"[package] {msg}", file=sys.stderr, flush=True)


def clean_tree(work: Path) -> Path:
    """A copy of HEAD, without untracked or modified files."""
    out = work / "clean-tree"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=REPO,
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def run_pyinstaller(src: Path, dist: Path, work: Path, baseline: Path | None) -> float:
    env = dict(os.environ, DOCENT_BUILD_DIR=str(work))
    if baseline:
        env["DOCENT_LLAMA_BASELINE"] = str(baseline)
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(dist), "--workpath", str(work), str(src / "packaging" / "docent.spec")]
    if hasattr(os, "nice"):
        cmd = ["nice", "-n", os.environ.get("DOCENT_BUILD_NICE", "10"), *cmd]
    log(" ".join(cmd))
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=src, env=env, check=True)
    return time.perf_counter() - t0


def add_desktop_files(bundle: Path, src: Path) -> None:
    share = bundle / "share"
    share.mkdir(exist_ok=True)
    for name in ("docent.png", "docent.svg"):
        shutil.copy2(src / "resources" / "icons" / name, share / name)
    shutil.copy2(src / "packaging" / "linux" / "docent.desktop", share / "docent.desktop")
    script = shutil.copy2(src / "packaging" / "linux" / "install-desktop-entry.sh", bundle)
    Path(script).chmod(0o755)


def make_tarball(bundle: Path, out: Path) -> Path:
    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=bundle.name)
    return out


def make_appimage(bundle: Path, src: Path, out: Path) -> str:
    """An AppImage via appimagetool, if one is installed; otherwise say why not."""
    tool = shutil.which("appimagetool")
    if not tool:
        return ("skipped: no appimagetool on PATH (it is not packaged on PyPI or Debian, and "
                "it downloads its runtime from GitHub); the tarball is the Linux installer")
    appdir = out.with_suffix(".AppDir")
    shutil.rmtree(appdir, ignore_errors=True)
    shutil.copytree(bundle, appdir / "usr" / "lib" / "docent", symlinks=True)
    (appdir / "AppRun").write_text('#!/bin/sh\nexec "$(dirname "$(readlink -f "$0")")/usr/lib/docent/docent" "$@"\n')
    (appdir / "AppRun").chmod(0o755)
    shutil.copy2(src / "resources" / "icons" / "docent.png", appdir / "docent.png")
    shutil.copy2(src / "packaging" / "linux" / "docent.desktop", appdir / "docent.desktop")
    subprocess.run([tool, str(appdir), str(out)], check=True, env=dict(os.environ, ARCH=platform.machine()))
    return str(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dist", type=Path, default=REPO / "dist")
    ap.add_argument("--work", type=Path, default=REPO / "build")
    ap.add_argument("--baseline", type=Path, help="baseline llama.cpp wheel (Linux/Windows x86-64)")
    ap.add_argument("--clean-tree", action="store_true", help="build from `git archive HEAD`")
    ap.add_argument("--no-archive", action="store_true")
    args = ap.parse_args(argv)

    from app.version import app_version

    src = clean_tree(args.work) if args.clean_tree else REPO
    seconds = run_pyinstaller(src, args.dist.resolve(), args.work.resolve(), args.baseline)
    bundle = args.dist / "docent"
    result = {"bundle": str(bundle), "build_s": round(seconds, 1), "source": str(src)}
    if sys.platform.startswith("linux") and not args.no_archive:
        add_desktop_files(bundle, src)
        stem = f"docent-{app_version()}-linux-{platform.machine()}"
        result["tarball"] = str(make_tarball(bundle, args.dist / f"{stem}.tar.gz"))
        result["appimage"] = make_appimage(bundle, src, args.dist / f"{stem}.AppImage")
    elif sys.platform == "darwin":
        result["next"] = "packaging/macos/make_dmg.sh (signs and notarizes when identities are set)"
    elif sys.platform == "win32":
        result["next"] = 'iscc /DAppVersion=%s packaging\\windows\\docent.iss' % app_version()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
