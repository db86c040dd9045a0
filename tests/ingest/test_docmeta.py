"""Document metadata (ingest/docmeta.py): dates, periods, names and kinds from first pages."""
from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from ingest import docmeta
from ingest.docmeta import DocMeta, Period, extract, find_dates, find_periods, principal_date, tokens
from ingest.manifest import Manifest


def test_dates_in_every_common_form():
    text = ("For the quarterly period ended April 1, 2023. Shares as of Sept. 30, 2022; "
            "signed 30 June 2022, filed 2022-10-24 and 10/24/2022. Not a date: 13/45/2022.")
    assert [d for _, d in find_dates(text)] == [date(2023, 4, 1), date(2022, 9, 30), date(2022, 6, 30),
                                               date(2022, 10, 24), date(2022, 10, 24)]


def test_principal_date_is_the_period_end_not_the_first_or_latest_date():
    text = "Filed July 28, 2023.\nFor the fiscal quarter ended July 1, 2023\nshares as of July 21, 2023"
    assert principal_date(text) == date(2023, 7, 1)
    # No "ended"/"as of": the most frequent date.
    assert principal_date("Memo 3 May 2021. Meeting 4 May 2021, again 4 May 2021.") == date(2021, 5, 4)
    assert principal_date("no dates here") is None


@pytest.mark.parametrize("text, periods", [
    ("Q2 2023 results", [Period(2023, 2)]),
    ("2023 Q3 NVDA", [Period(2023, 3)]),
    ("in the second quarter of fiscal 2023", [Period(2023, 2)]),
    ("third quarter of 2022", [Period(2022, 3)]),
    ("3Q23 and Q1 FY24", [Period(2023, 3), Period(2024, 1)]),
    ("FY2022 annual report", [Period(2022)]),
    ("revenue grew 2023 was good", []),  # a bare year is no label
])
def test_quarter_and_year_labels(text, periods):
    assert find_periods(text) == periods


def test_tokens_drop_possessives_and_join_form_names():
    assert tokens("Apple's 10-Q, NVIDIA’s data") == ["apple", "10q", "nvidia", "data"]


def test_extract_names_kinds_and_roundtrip():
    text = ("FORM 10-Q\nQUARTERLY REPORT PURSUANT TO SECTION 13\nFor the quarterly period ended March 31, 2023\n"
            "Harbour Mills Corporation\nHarbour Mills Corporation, 1 Quay Street\nHarbour Mills Corporation")
    meta = extract(text, title="Harbour Mills 10-Q")
    assert meta.period_end == "2023-03-31"
    assert meta.names[0] == ("Harbour Mills Corporation", 3)
    assert "10-q" in meta.kinds and "quarterly report" in meta.kinds
    assert DocMeta.from_json(meta.to_json()) == meta
    assert DocMeta.from_json("not json") == DocMeta()


def test_migration_adds_doc_meta_and_indexed_files_without_rows_are_derived(tmp_path):
    m = Manifest(tmp_path / "manifest.sqlite3")
    assert m.db.execute("SELECT count(*) FROM doc_meta").fetchone()[0] == 0
    from ingest.keyword import KeywordIndex
    from ingest.manifest import FileRecord, FileStatus
    from ingest.passage import Passage

    m.put(FileRecord("f1", "/lib/old.pdf", 1, 1, "x", FileStatus.INDEXED, chunk_count=1, page_count=3))
    KeywordIndex(m.db).add([Passage("f1:0", "/lib/old.pdf", 1, 1,
                                    "Quay Holdings Ltd annual report for the year ended 31 December 2021")])
    (loaded,) = docmeta.load(m.db)  # an index built before migration 4: derived from its chunks
    assert loaded.from_chunks and loaded.meta.period_end == "2021-12-31"
    assert "annual report" in loaded.meta.kinds
    m.close()


def _titles(sec_docs, names):
    from ingest.loaders import load_document

    return {n: load_document(sec_docs / n) for n in names}


def test_real_10qs_names_and_periods_found(sec_docs, tmp_path):
    docs = _titles(sec_docs, ["2023 Q2 AAPL.pdf", "2023 Q3 NVDA.pdf", "2023 Q1 INTC.pdf"])
    metas = {n: extract(docmeta.opening_text(d), d.title or "") for n, d in docs.items()}
    expect = {"2023 Q2 AAPL.pdf": ("2023-04-01", "apple"), "2023 Q3 NVDA.pdf": ("2023-10-29", "nvidia"),
              "2023 Q1 INTC.pdf": ("2023-04-01", "intel")}
    for name, (end, word) in expect.items():
        meta = metas[name]
        assert meta.period_end == end, name
        assert "10-q" in meta.kinds and "quarterly report" in meta.kinds, name
        assert any(word in tokens(phrase) for phrase, _ in meta.names[:40]), (name, meta.names[:40])
    # Stored through the indexer's hook, read back by the query side.
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE doc_meta (file_id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at REAL NOT NULL)")
    stored = docmeta.record(db, "nv", docs["2023 Q3 NVDA.pdf"])
    data = db.execute("SELECT data FROM doc_meta WHERE file_id = 'nv'").fetchone()[0]
    assert DocMeta.from_json(data) == stored == metas["2023 Q3 NVDA.pdf"]
