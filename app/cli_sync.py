"""`docent watch PATH`, `docent unwatch PATH`, `docent serve`: folders kept in sync."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = sub.add_parser("watch", help="keep a folder in sync with the index (while `docent serve` runs)")
    s.add_argument("paths", nargs="*", type=Path, help="folders to add; none lists the watched folders")
    s = sub.add_parser("unwatch", help="stop watching a folder")
    s.add_argument("paths", nargs="+", type=Path)
    s.add_argument("--forget", action="store_true", help="also remove its documents from the index")
    s = sub.add_parser("serve", help="keep the watched folders in sync until stopped (Ctrl-C)")
    s.add_argument("--once", action="store_true", help="catch up with changes, then exit")


def _abs(p: Path) -> str:
    return os.path.abspath(os.path.expanduser(str(p)))


def cmd_watch(lib, args) -> int:  # type: ignore[no-untyped-def]
    s = lib.settings
    for p in args.paths:
        folder = _abs(p)
        if not os.path.isdir(folder):
            print(f"docent: {folder} is not a folder", file=sys.stderr)
            return 2
        if folder not in s.watched_folders:
            s.watched_folders.append(folder)
            print(f"Watching {folder}.")
    s.save()
    for folder in s.watched_folders:
        print(folder if os.path.isdir(folder) else f"{folder}  (unavailable)")
    if args.paths:
        print("Run `docent serve` (or open Docent) to keep them in sync.")
    return 0


def cmd_unwatch(lib, args) -> int:  # type: ignore[no-untyped-def]
    s = lib.settings
    gone = [f for f in map(_abs, args.paths) if f in s.watched_folders]
    if not gone:
        print("docent: not a watched folder", file=sys.stderr)
        return 1
    s.watched_folders = [f for f in s.watched_folders if f not in gone]
    s.save()
    removed = lib.indexer.forget([Path(f) for f in gone]) if args.forget else 0
    print(f"Stopped watching {len(gone)} folder(s)" + (f"; removed {removed} file(s)." if args.forget else "."))
    return 0


def cmd_serve(lib, args) -> int:  # type: ignore[no-untyped-def]
    from app.engine.search_service import SearchServer
    from ingest.sync.events import FileEvent, FolderEvent, SyncProgress
    from ingest.sync.service import SyncService

    if not lib.settings.watched_folders:
        print("docent: no watched folders; add one with `docent watch PATH`", file=sys.stderr)
        return 2
    stop = threading.Event()

    def show(e: object) -> None:
        if isinstance(e, FolderEvent):
            print(f"[{e.state}] {e.folder}" + (f": {e.reason}" if e.reason else ""), flush=True)
        elif isinstance(e, FileEvent) and e.state != "queued":
            extra = f" <- {e.old_path}" if e.old_path else f": {e.error}" if e.error else ""
            print(f"  {e.state:8} {e.path}{extra}", flush=True)
        elif isinstance(e, SyncProgress) and e.phase == "idle":
            print(f"In sync ({e.errors} error(s)).", flush=True)

    svc = SyncService(lib, on_event=show, watch=not args.once)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    svc.start()
    search = SearchServer(lib)  # `docent search` from other shells is answered here
    search.start()
    try:
        if args.once:
            svc.wait_idle(None)
        else:
            while not stop.wait(0.5) and svc.error is None:
                pass
    except KeyboardInterrupt:
        pass
    finally:
        search.stop()
        svc.stop()
    if svc.error is not None:
        print(f"docent: sync stopped: {svc.error}", file=sys.stderr)
        return 1
    return 0


COMMANDS = {"watch": cmd_watch, "unwatch": cmd_unwatch, "serve": cmd_serve}
