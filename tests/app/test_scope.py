"""app.engine.scope: a question's scope to the retrievers' filter, in one place."""
from __future__ import annotations

from app.core.chat_types import ChatScope
from app.engine.scope import Scope, where_of


def test_scope_of_folders_and_files_and_its_filter() -> None:
    assert Scope.of() is None and where_of() is None and ChatScope().where() is None
    assert where_of(["/docs"], []) == {"folder": {"$in": ["/docs"]}}
    assert where_of([], ["/docs/a.pdf"]) == {"path": {"$in": ["/docs/a.pdf"]}}
    both = where_of(["/docs", "/notes"], ["/x/a.pdf"])
    assert both == {"$or": [{"path": {"$in": ["/x/a.pdf"]}}, {"folder": {"$in": ["/docs", "/notes"]}}]}
    assert Scope.from_where(both) == Scope.of(["/docs", "/notes"], ["/x/a.pdf"])
    chat = ChatScope(("/docs", "/notes"), ("/x/a.pdf",))
    assert chat.where() == both and chat.to_scope() == Scope.of(chat.folders, chat.files)
