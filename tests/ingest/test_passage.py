"""The one passage type: what it derives from its fields."""
from __future__ import annotations

from ingest.document import PageSpan
from ingest.passage import Found, Passage
from ingest.store import chunk_id


def test_ids_pages_and_page_text_come_from_the_fields():
    body = "Net sales rose 8%."
    p = Passage(chunk_id("ab12", 7), "/docs/q3.pdf", 4, 5, "q3.pdf > Results\n" + body, 0.7, "q3.pdf > Results",
                (PageSpan(5, 10, 28),), body)
    assert (p.file_id, p.chunk_index, p.name) == ("ab12", 7, "q3.pdf")
    assert p.pages == (5,)  # the spans' pages, not the cited range
    assert p.pages_label == "pp. 4-5" and p.page_text == body and p.found is Found.STORED


def test_an_index_without_bodies_still_gives_the_words_on_the_page():
    p = Passage("f:00000", "/docs/a.txt", None, None, "a.txt > Intro\nHello there.", heading="a.txt > Intro")
    assert p.page_text == "Hello there." and p.pages == () and p.pages_label == ""
    cut = Passage("f:00001", "/docs/a.txt", 2, 3, "mid-chunk words", heading="a.txt > Intro")
    assert cut.page_text == "mid-chunk words" and cut.pages == (2, 3)


def test_an_id_without_an_index_part_is_its_own_file():
    p = Passage("doc-42", "doc-42", None, None, "text")
    assert (p.file_id, p.chunk_index) == ("doc-42", 0)
