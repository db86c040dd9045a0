from app.engine.citations import MarkerFilter, clean_markers, marker_numbers


def test_marker_numbers_in_first_cited_order():
    assert marker_numbers("A [2]. B [1, 3]. C [2].") == [2, 1, 3]


def test_invalid_markers_are_dropped():
    assert clean_markers("Yes [1] and [7] or [2, 9].", range(1, 3)) == "Yes [1] and  or [2]."


def test_stream_filter_matches_batch_cleaning_for_any_split():
    text = "Rent is 2,400 [1]. Fake [12]. Arrays like [x] stay. Both [1,2] end [3"
    expected = clean_markers(text, range(1, 3))
    for size in (1, 2, 3, 5, 8):
        f = MarkerFilter(range(1, 3))
        out = "".join(f.feed(text[i:i + size]) for i in range(0, len(text), size)) + f.flush()
        assert out == expected, size
    assert "[12]" not in expected and "[x]" in expected
