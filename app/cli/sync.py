"""`docent watch PATH`, `docent unwatch PATH`, `docent serve`: folders kept in sync."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("watch", help="keep a folder in sync with the index (while `docent serve` runs)")
    s.add_argument("paths", nargs="*", type=Path, help="folders to add; none lists the watched folders")
    s = sub.add_parser("unwatch", help="stop watching a folder")
    s.add_argument("paths", nargs="+", type=Path)
    s.add_argument("--forget", action="store_true", help="also remove its documents from the index")
    s = sub.add_parser("serve", help="keep the watched folders in sync until stopped (Ctrl-C)")
    s.add_argument("--once", action="store_true", help="catch up with changes, then exit")


def _abs(p: Path) -> str:
    return os.path.abspath(os.path.expanduser(str(p)))


def cmd_watch(lib, args) -> int:
    from app.core.client import with_owner

    s = lib.settings
    for p in args.paths:
        folder = _abs(p)
        if not os.path.isdir(folder):
            print(f"docent: {folder} is not a folder", file=sys.stderr)
            return 2
    reply = with_owner(s.index_dir, lambda o: (o.watch(args.paths), o.pid)) if args.paths else None
    if reply is not None:  # a running owner syncs them now (and saves settings.json itself)
        (done, pid) = reply
        for folder in done.changed:
            print(f"Watching {folder}.")
        for folder in done.folders:
            print(folder if os.path.isdir(folder) else f"{folder}  (unavailable)")
        print(f"The Docent process {pid} keeps them in sync.", file=sys.stderr)
        return 0
    for p in args.paths:
        folder = _abs(p)
        if folder not in s.watched_folders:
            s.watched_folders.append(folder)
            print(f"Watching {folder}.")
    s.save()
    for folder in s.watched_folders:
        print(folder if os.path.isdir(folder) else f"{folder}  (unavailable)")
    if args.paths:
        print("Run `docent serve` (or open Docent) to keep them in sync.")
    return 0


def cmd_unwatch(lib, args) -> int:
    from app.core.client import with_owner

    s = lib.settings
    reply = with_owner(s.index_dir, lambda o: o.unwatch(args.paths, args.forget))
    if reply is not None:  # the owner stops watching now (an unknown folder is its DocentError)
        print(f"Stopped watching {len(reply.changed)} folder(s)"
              + (f"; removed {reply.removed} file(s)." if args.forget else "."))
        return 0
    gone = [f for f in map(_abs, args.paths) if f in s.watched_folders]
    if not gone:
        print("docent: not a watched folder", file=sys.stderr)
        return 1
    s.watched_folders = [f for f in s.watched_folders if f not in gone]
    s.save()
    removed = lib.indexer.forget([Path(f) for f in gone]) if args.forget else 0
    print(f"Stopped watching {len(gone)} folder(s)" + (f"; removed {removed} file(s)." if args.forget else "."))
    return 0


def cmd_serve(lib, args) -> int:
    """A thin shell around the application core: prints its events until stopped."""
    from app.core.core import Core
    from app.core.events import CoreState

    if not lib.settings.watched_folders:
        print("docent: no watched folders; add one with `docent watch PATH`", file=sys.stderr)
        return 2
    stop = threading.Event()
    # It builds its own parts (`lib` stays unopened), waiting for another Docent process
    # that holds the index (IndexWaitEvent, printed) for up to OWNER_WAIT_S.
    core = Core(lib.settings, watch=not args.once, command="docent serve")
    core.subscribe(_printer())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    core.start()
    try:
        while not core.wait_ready(0.5) and core.state is CoreState.STARTING and not stop.is_set():
            pass  # (a wait in slices: SIGTERM stops a serve that is still waiting)
        if core.state is not CoreState.READY:
            return 0 if stop.is_set() else 1  # the reason was printed from its CoreStateEvent
        if args.once:
            ok = core.wait_idle(None)
        else:
            while not stop.wait(0.5) and not core.writer_down:
                pass
            ok = not core.writer_down
    except KeyboardInterrupt:
        ok = True
    finally:
        core.close()
    return 0 if ok else 1


def _printer():
    from app.core.events import (
        CoreErrorEvent,
        CoreState,
        CoreStateEvent,
        FileEvent,
        FileState,
        FolderEvent,
        IndexProgress,
        IndexWaitEvent,
        ModelEvent,
        ModelState,
        WorkerEvent,
    )

    def show(e: object) -> None:
        if isinstance(e, FolderEvent):
            print(f"[{e.state.value}] {e.folder}" + (f": {e.reason}" if e.reason else ""), flush=True)
        elif isinstance(e, FileEvent) and e.state not in (FileState.QUEUED, FileState.INDEXING):
            state = "renamed" if e.renamed else e.state.value
            extra = f" <- {e.old_path}" if e.old_path else f": {e.message}" if e.message else ""
            print(f"  {state:8} {e.path}{extra}", flush=True)
        elif isinstance(e, IndexProgress) and e.phase == "idle":
            print(f"In sync ({e.errors} error(s)).", flush=True)
        elif isinstance(e, IndexWaitEvent):
            print(f"docent: {e.message}", file=sys.stderr, flush=True)
        elif isinstance(e, CoreStateEvent) and e.state == CoreState.FAILED:
            print(f"docent: {e.message}", file=sys.stderr, flush=True)
        elif isinstance(e, WorkerEvent):
            print(f"docent: {e.message}", file=sys.stderr, flush=True)
        elif isinstance(e, CoreErrorEvent):
            print(f"docent: error: {e.message}", file=sys.stderr, flush=True)
        elif isinstance(e, ModelEvent) and e.state == ModelState.ERROR:
            print(f"docent: model: {e.message}", file=sys.stderr, flush=True)

    return show


COMMANDS = {"watch": cmd_watch, "unwatch": cmd_unwatch, "serve": cmd_serve}
