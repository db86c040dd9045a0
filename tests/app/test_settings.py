"""Settings: validated on load (bad values -> defaults, a malformed file kept aside, never
lost), only changed values written, update() validated, observers told, re-embed flagged."""
from __future__ import annotations

import json

import pytest

from app.errors import DocentError, SettingsInvalidError
from app.settings import FieldSpec, Settings, SettingsChange


def _write(home, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text(text, encoding="utf-8")


def _aside(home):
    return sorted(home.glob("settings.json.bad-*"))


def test_no_file_gives_defaults_and_no_problems(tmp_path):
    s = Settings.load(tmp_path / "h")
    assert s.load_problems == [] and s.load_report.ok and s.chunk_tokens == 200
    assert s.load_report.message == ""


def test_malformed_json_uses_defaults_and_keeps_the_file(tmp_path):
    home = tmp_path / "h"
    _write(home, '{"top_k": 9,, oops')
    s = Settings.load(home)
    assert s.top_k == 6  # default
    assert len(s.load_problems) == 2 and "not valid JSON" in s.load_problems[0]
    kept = _aside(home)
    assert len(kept) == 1 and kept[0].read_text() == '{"top_k": 9,, oops'
    assert s.load_report.kept_aside == kept[0] and str(kept[0]) in s.load_report.message
    assert not (home / "settings.json").exists()
    again = Settings.load(home)  # the message is shown once: the next start is clean
    assert again.load_problems == [] and len(_aside(home)) == 1


def test_json_that_is_not_an_object_is_malformed(tmp_path):
    home = tmp_path / "h"
    _write(home, "[1, 2, 3]")
    s = Settings.load(home)
    assert "does not hold a JSON object" in s.load_problems[0] and len(_aside(home)) == 1


def test_not_utf8_is_malformed(tmp_path):
    home = tmp_path / "h"
    home.mkdir()
    (home / "settings.json").write_bytes(b'{"top_k": "\xff\xfe"}')
    s = Settings.load(home)
    assert s.top_k == 6 and s.load_problems and len(_aside(home)) == 1


def test_bad_values_fall_back_one_by_one_and_the_good_ones_stay(tmp_path):
    home = tmp_path / "h"
    original = {"top_k": "6", "chunk_tokens": 5, "retrieval_mode": "magic", "temperature": 0.7,
                "n_threads": -1, "watched_folders": ["/docs", 3], "max_answer_tokens": True,
                "llm_backend": "remote", "context_tokens": 2000.0}
    _write(home, json.dumps(original))
    s = Settings.load(home)
    # good values kept (an integral float is a fine whole number)
    assert (s.temperature, s.llm_backend, s.context_tokens) == (0.7, "remote", 2000)
    # bad ones back to their defaults
    assert (s.top_k, s.chunk_tokens, s.retrieval_mode, s.n_threads, s.watched_folders,
            s.max_answer_tokens) == (6, 200, "hybrid", 0, [], 512)
    text = " ".join(s.load_problems)
    for expected in ("top_k must be a whole number, not '6'",
                     "chunk_tokens must be between 32 and 2048, not 5",
                     "retrieval_mode must be one of hybrid, dense, keyword, not 'magic'",
                     "n_threads must be between 0 and 1024, not -1",
                     "watched_folders must be a list of text",
                     "max_answer_tokens must be a whole number, not True"):
        assert expected in text
    kept = _aside(home)
    assert len(kept) == 1 and json.loads(kept[0].read_text()) == original  # nothing lost
    # the file left in place holds the good values only, so the next start is quiet
    assert json.loads((home / "settings.json").read_text()) == {
        "temperature": 0.7, "llm_backend": "remote", "context_tokens": 2000}
    again = Settings.load(home)
    assert again.load_problems == [] and again.temperature == 0.7


def test_overlap_larger_than_half_a_chunk_is_reported(tmp_path):
    home = tmp_path / "h"
    _write(home, json.dumps({"chunk_tokens": 64, "chunk_overlap": 60}))
    s = Settings.load(home)
    assert s.chunk_tokens == 64 and s.chunk_overlap == 32
    assert "chunk_overlap (60) must be at most half of chunk_tokens (64)" in s.load_problems[0]


def test_unknown_keys_are_reported_ignored_and_kept_in_the_file(tmp_path):
    home = tmp_path / "h"
    _write(home, json.dumps({"top_k": 8, "future_setting": {"x": 1}}))
    s = Settings.load(home)
    assert s.top_k == 8 and not hasattr(s, "future_setting")
    assert s.load_report.unknown == ("future_setting",) and "'future_setting'" in s.load_problems[0]
    assert not _aside(home)  # not malformed: nothing moved
    s.update(top_k=9)
    assert json.loads((home / "settings.json").read_text()) == {"future_setting": {"x": 1}, "top_k": 9}


def test_save_writes_only_changed_values(tmp_path):
    s = Settings.load(tmp_path / "h")
    s.watched_folders.append("/docs")
    s.top_k = 6  # the default: not written
    s.chunk_tokens = 256
    s.save()
    assert json.loads(s.settings_file.read_text()) == {"watched_folders": ["/docs"], "chunk_tokens": 256}
    back = Settings.load(s.home)
    assert back.watched_folders == ["/docs"] and back.chunk_tokens == 256 and back.load_problems == []


def test_update_validates_every_value_and_changes_nothing_when_one_is_bad(tmp_path):
    s = Settings.load(tmp_path / "h")
    with pytest.raises(SettingsInvalidError) as info:
        s.update(top_k=0, retrieval_mode="dense", llm_backend="cloud", no_such=1)
    assert isinstance(info.value, DocentError)
    assert len(info.value.problems) == 3
    assert "top_k must be between 1 and 100, not 0." in info.value.problems
    assert "There is no setting called 'no_such'." in info.value.problems
    assert s.retrieval_mode == "hybrid" and not s.settings_file.exists()
    with pytest.raises(SettingsInvalidError, match="chunk_overlap"):
        s.update(chunk_tokens=64)  # 40 > 64 // 2 with the current overlap
    assert s.chunk_tokens == 200


def test_update_saves_tells_observers_and_flags_reembed(tmp_path):
    s = Settings.load(tmp_path / "h")
    seen: list[SettingsChange] = []
    unsubscribe = s.on_change(seen.append)
    s.on_change(lambda change: 1 / 0)  # a broken observer must not stop the others or the save
    change = s.update(temperature=1, top_k=6, retrieval_mode="keyword")
    assert change == SettingsChange(("temperature", "retrieval_mode"), reembed=False)
    assert isinstance(s.temperature, float) and seen == [change]
    assert json.loads(s.settings_file.read_text()) == {"temperature": 1.0, "retrieval_mode": "keyword"}
    change = s.update(chunk_tokens=256, chunk_overlap=64)
    assert change.reembed and change.changed == ("chunk_tokens", "chunk_overlap")
    assert s.update(embedder_path="/models/other").reembed
    assert s.update(chroma_url="http://127.0.0.1:1").restart
    assert s.update(top_k=6) == SettingsChange(())  # nothing changed: no event
    assert len(seen) == 4
    unsubscribe()
    s.update(top_k=7)
    assert len(seen) == 4
    assert Settings.load(s.home).chunk_tokens == 256


def test_field_specs_declare_choices_ranges_and_effects(tmp_path):
    specs = {sp.name: sp for sp in Settings.field_specs()}
    assert "home" not in specs and all(isinstance(sp, FieldSpec) for sp in specs.values())
    assert specs["retrieval_mode"].choices == ("hybrid", "dense", "keyword")
    assert specs["llm_backend"].choices == ("local", "remote")
    assert (specs["chunk_tokens"].minimum, specs["chunk_tokens"].maximum) == (32, 2048)
    assert specs["n_threads"].minimum == 0 and specs["n_threads"].type is int
    assert specs["watched_folders"].type is list and specs["watched_folders"].default == []
    assert {n for n, sp in specs.items() if sp.reembed} == {"chunk_tokens", "chunk_overlap",
                                                             "embedder_path"}
    assert specs["chroma_url"].restart and not specs["top_k"].restart
    assert all(sp.help for sp in specs.values())
    defaults = {n: sp.default for n, sp in specs.items()}
    assert Settings(home=tmp_path).validate(**defaults) == defaults  # every default is valid
    assert set(Settings.describe()) == set(specs) | {"home"}


def test_settings_copy_through_asdict_still_works(tmp_path):
    from dataclasses import asdict

    s = Settings.load(tmp_path / "h")
    s.top_k = 9
    copy = Settings(**{**asdict(s), "home": tmp_path / "other"})
    assert copy.top_k == 9 and copy.load_problems == [] and copy == Settings(**asdict(copy))
