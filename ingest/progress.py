"""Progress a loader reports from inside one long parse (the pages of a scan it reads).

A loader calls `report(done, total)`; whoever runs it (the parser worker, ingest.isolation)
installs a reporter for the duration of that one parse with `reporting(fn)`. Outside
such a block `report` does nothing, so loaders never need to know who listens.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class PageProgress:
    """`done` of `total` pages read by OCR so far in the file being parsed."""

    done: int
    total: int


Reporter = Callable[[PageProgress], None]
_reporter: ContextVar[Reporter | None] = ContextVar("docent_parse_progress", default=None)


def report(done: int, total: int) -> None:
    fn = _reporter.get()
    if fn is not None:
        fn(PageProgress(done, total))


@contextmanager
def reporting(fn: Reporter | None) -> Iterator[None]:
    token = _reporter.set(fn)
    try:
        yield
    finally:
        _reporter.reset(token)
