"""The installer's executable: `docent` with no arguments opens the window, otherwise the CLI.

Order matters, so it is spelled out here rather than left to app.cli:
1. multiprocessing.freeze_support() first: the PDF parser runs in spawned workers
   (ingest/isolation.py), and a spawned child re-runs this executable; it must become
   the worker here, before anything else is imported or started.
2. the llama.cpp build for this CPU (LLAMA_CPP_LIB_PATH) before anything imports llama_cpp.
3. then the window (no arguments), `--self-test`, `--window-check`, `--version`, or the
   `docent` command line.
"""
import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()

import sys  # noqa: E402


def main(argv: list[str]) -> int:
    from app.offline import enforce_offline

    enforce_offline()  # the runtime hook set these already; harmless from source
    from app.models.cpu_variant import select_llama_library

    select_llama_library()
    if argv[:1] == ["--self-test"]:
        from app.cli.selftest import main as self_test

        return self_test(argv[1:])
    if argv[:1] == ["--version"]:
        from app.version import app_version

        print(f"docent {app_version()}")
        return 0
    if argv[:1] == ["--window-check"]:  # start the window offscreen, report when it shows
        from app.cli.selftest import window_check_main

        return window_check_main(argv[1:])
    if (not argv or argv[:1] == ["gui"]) and _has_window():
        from app.ui.app import run as window  # exits the process when the window closes

        window([sys.argv[0], *argv[1:]] if argv else [sys.argv[0]])
    from app.cli import main as cli

    return cli(argv)


def _has_window() -> bool:
    import importlib.util

    return importlib.util.find_spec("app.ui.app") is not None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
