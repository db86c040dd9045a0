"""The installed version, from the package metadata (a frozen bundle carries docent's dist-info)."""
from __future__ import annotations


def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("docent")
    except PackageNotFoundError:  # a source tree that was never pip-installed
        from app import __version__

        return __version__
