"""Chats in SQLite: they survive a restart with their scope, turns, sources and locations;
the history a resumed chat feeds the model matches the live chat's, token for token."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from app.core.chats import DEFAULT_TITLE, MIGRATIONS, ChatScope, ChatStore, ChatTurn, first_question_title
from app.engine.events import Answer
from app.engine.prompt import NumberedSource, PromptBuilder
from app.errors import ChatNotFoundError, ChatsCorruptError, ChatsTooNewError, DocentError
from ingest.document import PageSpan
from ingest.passage import Passage


@pytest.fixture
def path(tmp_path):
    return tmp_path / "home" / "chats.sqlite3"


@pytest.fixture
def store(path):
    s = ChatStore(path)
    yield s
    s.close()


def _ref(n: int, cited: bool = False) -> NumberedSource:
    return NumberedSource(n, Passage(f"c{n}", f"/docs/report{n}.pdf", 3, 4, f"report{n} > Heading\nbody {n}",
                                     0.5 + n / 100, "Heading", (PageSpan(3, 120, 900), PageSpan(4, 0, 55)),
                                     f"body {n}"), cited)


def test_create_rename_delete_list(store):
    a = store.create()
    b = store.create("Lease questions", ChatScope(folders=("/docs/leases",)))
    assert a.title == DEFAULT_TITLE and a.turns == [] and a.scope.is_all
    assert [c.id for c in store.list()] == [b.id, a.id]  # newest first
    store.rename(a.id, "  Taxes   2024 ")
    assert store.get(a.id).title == "Taxes 2024"
    assert [c.id for c in store.list()] == [a.id, b.id]  # renaming counts as activity
    store.delete(b.id)
    assert store.get(b.id) is None and [c.id for c in store.list()] == [a.id]
    with pytest.raises(ChatNotFoundError):
        store.rename(b.id, "gone")
    with pytest.raises(ChatNotFoundError):
        store.add_turn(b.id, ChatTurn("q", "a"))


def test_first_question_becomes_the_title_unless_renamed(store):
    auto, named, renamed = store.create(), store.create("My chat"), store.create()
    store.rename(renamed.id, "Kept")
    q = "What were the total net sales in the quarter ended March 2023, and how did they compare?"
    for c in (auto, named, renamed):
        store.add_turn(c.id, ChatTurn(q, "answer"))
        store.add_turn(c.id, ChatTurn("second question", "answer"))
    title = store.get(auto.id).title
    assert title == first_question_title(q) and title.endswith("…") and len(title) <= 61
    assert q.startswith(title[:-1])
    assert store.get(named.id).title == "My chat" and store.get(renamed.id).title == "Kept"
    assert first_question_title("  short\n question ") == "short question"


def test_scope_where_and_describe():
    assert ChatScope().where() is None and ChatScope().describe() == "All documents"
    s = ChatScope(folders=("/a", "/b", "/a"), files=("/c/x.pdf",))
    assert s.folders == ("/a", "/b")  # normalised, duplicates gone
    assert s.describe() == "2 folders, 1 file"
    assert s.where() == {"$or": [{"path": {"$in": ["/c/x.pdf"]}}, {"folder": {"$in": ["/a", "/b"]}}]}
    assert ChatScope(files=("/c/x.pdf",)).where() == {"path": {"$in": ["/c/x.pdf"]}}
    assert ChatScope(files=("/c/x.pdf",)).describe() == "x.pdf"
    assert ChatScope(folders=("/docs/leases",)).describe() == "Folder leases"
    assert ChatScope(files=("/a", "/b", "/c")).describe() == "3 files"


def test_turns_sources_and_scope_survive_a_restart(path):
    store = ChatStore(path)
    chat = store.create(scope=ChatScope(folders=("/docs",), files=("/other/x.md",)))
    store.add_turn(chat.id, ChatTurn("q1", "a1 [1]", [_ref(1, cited=True), _ref(2)],
                                     created_at=1000.0, raw_answer="a1 [1] [9]"))
    store.add_turn(chat.id, ChatTurn("q2", "half", [_ref(3)], stopped=True, created_at=1001.0))
    store.set_scope(chat.id, ChatScope(files=("/other/x.md",)))
    store.close()

    store = ChatStore(path)  # a restart
    got = store.get(chat.id)
    assert got.scope == ChatScope(files=("/other/x.md",))
    assert [(t.question, t.answer, t.stopped, t.created_at) for t in got.turns] == [
        ("q1", "a1 [1]", False, 1000.0), ("q2", "half", True, 1001.0)]
    assert got.turns[0].raw_answer == "a1 [1] [9]"
    assert got.turns[0].sources == [_ref(1, cited=True), _ref(2)]
    assert got.turns[0].sources[0].passage.spans == (PageSpan(3, 120, 900), PageSpan(4, 0, 55))
    assert got.turns[1].sources == [_ref(3)]
    assert store.list()[0].turns == []  # list() does not load turns
    store.close()


def test_stopped_answers_are_listed_but_not_fed_back(store):
    chat = store.create()
    store.add_turn(chat.id, ChatTurn("q1", "a1", [_ref(1), _ref(2)]))
    store.add_turn(chat.id, ChatTurn("q2", "stopped half", [_ref(3)], stopped=True))
    store.add_turn(chat.id, ChatTurn("q3", "a3", [_ref(2), _ref(3)]))
    assert [t.stopped for t in store.get(chat.id).turns] == [False, True, False]
    history = store.history(chat.id)
    assert [(t.question, t.answer) for t in history] == [("q1", "a1"), ("q3", "a3")]
    # [2] was shown in turn 1, so turn 3 re-uses it; [3] was only in the stopped turn: new.
    assert [s.number for s in history[1].sources] == [3] and history[1].reused == [2]
    p = history[0].sources[0].passage
    assert (p.chunk_id, p.text, p.heading, p.page_start) == ("c1", _ref(1).passage.text, "Heading", 3)


def test_replace_last_turn_regenerates(store):
    chat = store.create()
    store.add_turn(chat.id, ChatTurn("q1", "a1"))
    store.add_turn(chat.id, ChatTurn("q2", "first try", [_ref(1)], stopped=True))
    assert [t.question for t in store.history(chat.id, without_last=True)] == ["q1"]
    store.replace_last_turn(chat.id, ChatTurn("q2", "second try", [_ref(2)]))
    turns = store.get(chat.id).turns
    assert [(t.question, t.answer, t.stopped) for t in turns] == [
        ("q1", "a1", False), ("q2", "second try", False)]
    assert turns[1].sources == [_ref(2)]
    assert [t.answer for t in store.history(chat.id)] == ["a1", "second try"]
    empty = store.create()
    store.replace_last_turn(empty.id, ChatTurn("only", "one"))
    assert [t.question for t in store.get(empty.id).turns] == ["only"]


def test_delete_cascades_to_turns_and_sources(store):
    chat = store.create()
    store.add_turn(chat.id, ChatTurn("q", "a", [_ref(1), _ref(2)]))
    store.delete(chat.id)
    assert store.db.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0
    assert store.db.execute("SELECT COUNT(*) FROM sources").fetchone()[0] == 0


def test_migrations_from_an_empty_file_and_reopen_is_idempotent(path):
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")  # a zero-byte file is an empty database to SQLite
    store = ChatStore(path)
    assert store.schema_version == len(MIGRATIONS)
    store.create("kept")
    store.close()
    for _ in range(2):
        store = ChatStore(path)
        assert store.schema_version == len(MIGRATIONS)
        assert [c.title for c in store.list()] == ["kept"]
        store.close()


def test_a_version_1_file_gains_notes_and_keeps_its_turns(path):
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    db.execute("INSERT INTO chats (title, created_at, updated_at) VALUES ('old', 1, 1)")
    db.execute("INSERT INTO turns (chat_id, position, question, answer, created_at) "
               "VALUES (1, 0, 'q', 'a [1]', 1)")
    db.commit()
    db.close()
    store = ChatStore(path)
    assert store.schema_version == len(MIGRATIONS) >= 2
    [turn] = store.get(1).turns
    assert (turn.question, turn.answer, turn.notes) == ("q", "a [1]", [])
    store.add_turn(1, ChatTurn("q2", "b⚠ [~1]", [], notes=["⚠ unverified figure b", "a note"]))
    store.close()
    store = ChatStore(path)
    assert [(t.answer, t.notes) for t in store.get(1).turns] == [
        ("a [1]", []), ("b⚠ [~1]", ["⚠ unverified figure b", "a note"])]
    store.close()


def test_a_turn_from_an_answer_is_stored_as_shown_with_its_notes(store):
    from app.engine.attribution import SentenceAttribution
    from app.engine.figures import FigureCheck, FigureStatus

    p = Passage("c1", "/docs/r.txt", None, None, "Sales were 5 million.", 0.5)
    text = "Sales were 7 million"
    answer = Answer("q", text, [NumberedSource(1, p, True, inferred=True)],
                    [NumberedSource(1, p)],
                    attributions=[SentenceAttribution(text, 0, len(text), (1,), True)],
                    figures=[FigureCheck("7 million", 11, 20, FigureStatus.UNVERIFIED, (1,), ())])
    turn = ChatTurn.from_answer(answer)
    assert turn.answer == "Sales were 7 million⚠ [~1]" and turn.raw_answer == text
    assert turn.notes and "7 million" in turn.notes[0]
    chat = store.create()
    store.add_turn(chat.id, turn)
    [got] = store.get(chat.id).turns
    assert (got.answer, got.notes, got.sources[0].cited) == (turn.answer, turn.notes, True)


def test_two_threads_adding_turns_at_once(store):
    chats = [store.create(), store.create()]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def add(chat_id: int, tag: str) -> None:
        try:
            start.wait(timeout=30)
            for i in range(40):
                store.add_turn(chat_id, ChatTurn(f"{tag}{i}", "a", [_ref(i)]))
                store.get(chat_id)
        except BaseException as e:  # reported below: a thread's failure must fail the test
            errors.append(e)

    threads = [threading.Thread(target=add, args=(c.id, f"{c.id}-{k}-"))
               for c in chats for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and not any(t.is_alive() for t in threads)
    for c in chats:
        turns = store.get(c.id).turns
        assert len(turns) == 80
        for k in range(2):  # each thread's turns in its own order, none lost
            mine = [t.question for t in turns if t.question.startswith(f"{c.id}-{k}-")]
            assert mine == [f"{c.id}-{k}-{i}" for i in range(40)]
        assert all(len(t.sources) == 1 for t in turns)


def test_a_corrupt_file_is_kept_aside_with_a_clear_error(path):
    path.parent.mkdir(parents=True)
    garbage = b"this is not a database at all\x00\x01" * 200
    path.write_bytes(garbage)
    with pytest.raises(ChatsCorruptError) as info:
        ChatStore(path)
    assert isinstance(info.value, DocentError)
    assert str(path) in str(info.value) and "kept as" in str(info.value)
    kept = list(path.parent.glob("chats.sqlite3.bad-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == garbage
    assert str(kept[0]) == info.value.aside
    store = ChatStore(path)  # opening again starts an empty store beside the kept file
    assert store.list() == [] and kept[0].exists()
    store.close()


def test_a_newer_format_is_refused_and_left_alone(path):
    ChatStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    db.close()
    with pytest.raises(ChatsTooNewError):
        ChatStore(path)
    assert path.exists() and not list(path.parent.glob("*.bad-*"))


@pytest.fixture(scope="module")
def llm(smollm_path):
    from app.engine.llm import LocalLLM

    m = LocalLLM(smollm_path, n_ctx=2048, n_threads=2)
    m.load()
    yield m
    m.close()


def _passages(ids: list[int]) -> list[Passage]:
    return [Passage(f"c{i}", f"/docs/f{i}.pdf", i, i, f"f{i}.pdf > Results\nrevenue figure {i} " * 5,
                    1.0 - i / 100, "Results") for i in ids]


@pytest.mark.slow  # SmolLM2 loaded through llama.cpp: the prompt is compared token for token
def test_a_resumed_chat_feeds_the_same_prompt_as_the_live_one(path, llm):
    """After a restart, the next question's prompt equals the live chat's token for token,
    so the history is the same conversation (and the KV cache prefix would match)."""
    builder = PromptBuilder(llm.prepare, llm.n_ctx, 256)
    store = ChatStore(path)
    chat = store.create()
    live = []
    for q, ids, raw in (("What was revenue?", [1, 2, 3], "Revenue was 1 [1] and [7]."),
                        ("And a year earlier?", [2, 4], "It was 4 [4], see [2].")):
        built = builder.build(q, _passages(ids), live)
        built.turn.answer = raw
        live.append(built.turn)
        answer = Answer(q, raw.replace(" and [7]", ""),
                        [NumberedSource(n, built.visible[n], True) for n in (1, 2, 4) if n in built.visible],
                        built.sources, turn=built.turn)
        store.add_turn(chat.id, ChatTurn.from_answer(answer))
    store.close()

    store = ChatStore(path)
    history = store.history(chat.id)
    store.close()
    assert [(t.question, t.answer, [s.number for s in t.sources], t.reused) for t in history] == [
        (t.question, t.answer, [s.number for s in t.sources], t.reused) for t in live]
    after_restart = builder.build("And the margin?", _passages([3, 5]), history)
    in_session = builder.build("And the margin?", _passages([3, 5]), live)
    assert after_restart.prepared.payload == in_session.prepared.payload
    assert after_restart.history_turns == 2
    cited = [s.cited for s in ChatStore(path).get(chat.id).turns[0].sources]
    assert cited == [True, True, False]


def test_a_path_that_cannot_be_opened_is_an_error_not_damage(path):
    path.mkdir(parents=True)  # a folder where the file should be: unreadable, not corrupt
    with pytest.raises(DocentError):
        ChatStore(path)
    assert path.is_dir() and not list(path.parent.glob("*.bad-*"))
