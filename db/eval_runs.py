"""Stored offline evaluation runs: `engine eval` writes one per run, the chat shows the latest."""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from .store import transaction


@dataclass(frozen=True)
class EvalRun:
    id: int
    model: str
    dataset: str
    k: int | None
    created_at: str
    metrics: dict

    @property
    def auc(self) -> float | None:
        return self.metrics.get("auc")

    @property
    def gauc(self) -> float | None:
        return self.metrics.get("gauc")

    def baseline(self, name: str, key: str = "auc") -> float | None:
        return (self.metrics.get("baselines") or {}).get(name, {}).get(key)


def store_eval_run(db: sqlite_utils.Database, *, model: str, model_id: str, dataset: str, k: int | None,
                   metrics: dict) -> int:
    with transaction(db):
        cur = db.execute("INSERT INTO eval_runs (model_path, model_sha256, dataset, k, metrics) VALUES (?, ?, ?, ?, ?)",
                         [model, model_id, dataset, k, json.dumps(metrics)])
    return cur.lastrowid


def eval_runs(db: sqlite_utils.Database, limit: int = 50) -> list[EvalRun]:
    """The newest runs first."""
    rows = db.execute("SELECT id, model_path, dataset, k, created_at, metrics FROM eval_runs ORDER BY id DESC LIMIT ?",
                      [limit]).fetchall()
    return [EvalRun(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]
