"""`docent index`, `docent status`, `docent forget`: what the index holds.

Each is answered by the process that owns the index when one runs (app/core/client.py),
otherwise by this process's Library.
"""
from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from pathlib import Path

from app.cli import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL

log = logging.getLogger("docent.cli")


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("index", help="add or update files and folders in the index")
    s.add_argument("paths", nargs="+", type=Path)
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--no-wait", action="store_true",
                   help="when a running Docent owns the index: queue the paths there and return")

    s = sub.add_parser("status", help="what is indexed, with per-file errors")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("forget", help="remove files or folders from the index")
    s.add_argument("paths", nargs="+", type=Path)


def cmd_index(lib, args) -> int:
    from app.cli.output import IndexProgressBar, print_index_report
    from app.core.client import with_owner

    if args.no_wait:
        job = with_owner(lib.settings.index_dir, lambda o: o.queue_index(args.paths))
        if job is not None:
            print(f"Queued as job {job.job_id} in the Docent process {job.served_by}; "
                  "`docent status` shows the result.")
            return EXIT_OK
    bar = None if args.quiet or args.json else IndexProgressBar()
    report = with_owner(lib.settings.index_dir, lambda o: o.index(args.paths, progress=bar))
    if report is None:
        report = lib.indexer.index_paths(args.paths, progress=bar)
    if bar:
        bar.close()
    for f in report.failures:
        log.warning("index failed: %s: %s", f.path, f.message)
    if args.json:
        print(json.dumps(asdict(report), default=str, indent=2))
    else:
        print_index_report(report)
    return EXIT_PARTIAL if report.failures else EXIT_OK


def cmd_status(lib, args) -> int:
    from app.cli.output import local_status, print_status
    from app.core.client import with_owner

    status = with_owner(lib.settings.index_dir, lambda o: o.status()) or local_status(lib)
    if args.json:
        print(json.dumps(asdict(status), indent=2, ensure_ascii=False))
    else:
        print_status(status)
    return EXIT_OK


def cmd_forget(lib, args) -> int:
    from app.core.client import with_owner

    n = with_owner(lib.settings.index_dir, lambda o: o.forget(args.paths))
    if n is None:
        n = lib.indexer.forget(args.paths)
    print(f"Removed {n} file(s) from the index.")
    return EXIT_OK if n else EXIT_ERROR


COMMANDS = {"index": cmd_index, "status": cmd_status, "forget": cmd_forget}
