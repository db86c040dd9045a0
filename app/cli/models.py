"""`docent model ...`: list the catalog, download with consent, select a local GGUF."""
from __future__ import annotations

import argparse
import sys
import threading


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="list, download or select the language model")
    msub = p.add_subparsers(dest="model_command", required=True)
    msub.add_parser("list", help="models Docent can download, and the selected one")
    d = msub.add_parser("download", help="download a catalog model (asks first)")
    d.add_argument("model_id", nargs="?", help="catalog id (default: the default model)")
    d.add_argument("--yes", action="store_true", help="accept the licence and size without asking")
    d.add_argument("--catalog", help="a models.json of your own (e.g. an internal mirror's)")
    s = msub.add_parser("select", help="answer with a GGUF file you already have")
    s.add_argument("path")


def run(lib, args) -> int:
    from pathlib import Path

    from app.models.catalog import default_entry, find_entry, load_catalog
    from app.models.selection import select_model, selected_model

    home = lib.settings.home
    catalog = getattr(args, "catalog", None)
    entries = load_catalog(Path(catalog) if catalog else None)
    if args.model_command == "list":
        current = selected_model(home)
        print(f"Selected: {current or 'none'}")
        for e in entries:
            star = "*" if e.default else " "
            print(f" {star} {e.id:32} {e.size_bytes / 1e9:.2f} GB  {e.licence_name}  (needs {e.min_ram_gb:g} GB RAM)")
        return 0
    if args.model_command == "select":
        info = select_model(home, Path(args.path).expanduser().resolve())
        print(f"Selected {info.path} ({info.architecture}, {info.file_size / 1e9:.2f} GB).")
        return 0
    entry = find_entry(entries, args.model_id) if args.model_id else default_entry(entries)
    if entry is None:
        print(f"docent: no model {args.model_id!r} in the catalog; see `docent model list`.", file=sys.stderr)
        return 2
    print(f"{entry.name}: {entry.size_bytes / 1e9:.2f} GB from huggingface.co/{entry.repo}\n"
          f"Licence: {entry.licence_name} ({entry.licence_url})")
    if not args.yes:
        if not sys.stdin.isatty():
            print("docent: pass --yes to accept the licence and start the download.", file=sys.stderr)
            return 2
        if input("Download it now? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Nothing downloaded.")
            return 1
    return _download(lib, entry)


def _download(lib, entry) -> int:
    import os

    from tqdm import tqdm

    from app.models.download import ModelDownloader

    # The one place Docent goes online, at the user's request: lift the offline switch for the hub.
    os.environ["HF_HUB_OFFLINE"] = "0"
    cancel = threading.Event()
    bar = tqdm(total=entry.size_bytes, unit="B", unit_scale=True, desc="Downloading")

    def progress(p) -> None:
        if p.total:
            bar.total = p.total
        bar.n = p.done
        bar.refresh()

    try:
        result = ModelDownloader(lib.settings.models_dir).install(entry, lib.settings.home, progress, cancel)
    except KeyboardInterrupt:
        cancel.set()
        print("\nCancelled; run the same command again to resume.", file=sys.stderr)
        return 130
    finally:
        bar.close()
    print(f"Downloaded and selected {result.path} (sha256 {result.sha256[:12]}…).")
    return 0


COMMANDS = {"model": run}
