"""Child process for the crash-safety test: one sync of FOLDER into $DOCENT_HOME.

`python -m tests.ingest.crash_child FOLDER` prints a line per file event while it
syncs ("EVENT FileEvent") and the start-up report as JSON when it finishes; the
test kills it with SIGKILL after a random number of file events. Heavy
imports stay in main(): parser workers are spawned and re-import this module.
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path


def main(folder: str) -> int:
    from app.engine.library import Library
    from app.settings import Settings
    from ingest.sync.service import SyncService

    with Library(Settings.load()) as lib:
        def show(event: object) -> None:
            print("EVENT", type(event).__name__, flush=True)

        svc = SyncService(lib, [Path(folder)], watch=False, quiet_s=0.1, on_event=show)
        svc.start()
        svc.wait_idle(600)
        svc.stop()
        if svc.error is not None:
            raise svc.error
        report = svc.startup
        print(json.dumps(asdict(report), default=str) if report else "{}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
