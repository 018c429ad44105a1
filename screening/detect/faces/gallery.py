"""Enrolled face templates and open-set matching against them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Match:
    candidate: str | None  # best candidate, or None when the gallery is empty
    similarity: float  # cosine similarity to that candidate's closest template
    runner_up: str | None
    runner_up_similarity: float

    @property
    def margin(self) -> float:
        return self.similarity - self.runner_up_similarity


@dataclass(frozen=True)
class Gallery:
    """Unit-length templates [N, D] and the candidate each belongs to (several per candidate)."""

    templates: np.ndarray
    owners: tuple[str, ...]

    @classmethod
    def empty(cls, dim: int = 128) -> Gallery:
        return cls(np.zeros((0, dim), np.float32), ())

    def __len__(self) -> int:
        return len(self.owners)

    def match(self, embedding: np.ndarray, person: Mapping[str, str] | None = None) -> Match:
        """Best and runner-up candidate for one embedding: max similarity over each candidate's templates.

        With ``person`` (candidate id -> who they are), the runner-up is the best *other person*: one
        person's entries for two elections are not rivals."""
        if not self.owners:
            return Match(None, -1.0, None, -1.0)
        sims = self.templates @ embedding
        best: dict[str, float] = {}
        for owner, sim in zip(self.owners, sims.tolist(), strict=True):
            if sim > best.get(owner, -2.0):
                best[owner] = sim
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        top, top_sim = ranked[0]
        who = person or {}
        rivals = [(c, s) for c, s in ranked[1:] if who.get(c, c) != who.get(top, top)]
        second, second_sim = rivals[0] if rivals else (None, 0.0)
        return Match(top, float(top_sim), second, float(second_sim))
