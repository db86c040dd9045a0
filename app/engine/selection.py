"""How many passages go into the prompt: by token budget and score gap, not a fixed k.

Every prompt token costs time on a CPU, so a passage joins only if it fits the
remaining budget and its score is close enough to the best one; a source far
below the top is more likely to distract a small model than to help it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from app.engine.retrieval import Passage

CountTokens = Callable[[str], int]
SOURCE_OVERHEAD_TOKENS = 12  # "[n] name, pp. x-y" line and separators per source


class _Retriever(Protocol):
    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[Passage]: ...


@dataclass(frozen=True)
class Budget:
    tokens: int = 1200  # source text allowed in the prompt
    min_relative: float = 0.45  # drop passages scoring below this share of the best
    min_passages: int = 1


def select_passages(passages: Sequence[Passage], count_tokens: CountTokens,
                    budget: Budget = Budget()) -> list[Passage]:
    """Best-first prefix of `passages` that fits the budget and clears the score-gap cut."""
    if not passages:
        return []
    top = max(passages[0].score, 1e-9)
    kept: list[Passage] = []
    used = 0
    for p in passages:
        if len(kept) >= budget.min_passages:
            if p.score < budget.min_relative * top:
                break
            cost = count_tokens(p.text) + SOURCE_OVERHEAD_TOKENS
            if used + cost > budget.tokens:
                break
        else:
            cost = count_tokens(p.text) + SOURCE_OVERHEAD_TOKENS
        kept.append(p)
        used += cost
    return kept


class BudgetedRetriever:
    """Wraps a retriever so Answerer gets budget-selected passages through the same protocol."""

    def __init__(self, inner: _Retriever, count_tokens: CountTokens, budget: Budget = Budget()) -> None:
        self.inner = inner
        self.count_tokens = count_tokens
        self.budget = budget

    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[Passage]:
        return select_passages(self.inner.search(query, k, where), self.count_tokens, self.budget)
