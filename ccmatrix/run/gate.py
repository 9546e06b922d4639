"""The pull-request gate: a base and a head LiteLLM replayed, the head judged against
the base (ccmatrix.verdict.gate).

The base's result is kept in the cache under everything that decides it (the LiteLLM
it ran, the cassettes, the selection, the Claude Code release, ccmatrix's version, the
options), so a base whose tree did not change is not replayed again: a pull request's
second push costs one replay. A head that runs the same LiteLLM as its base is
replayed once, for both.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Callable

from ccmatrix import __version__
from ccmatrix.catalog import CellTier
from ccmatrix.fsutil import cache_dir, write_atomic
from ccmatrix.proxy.litellm_env import LiteLLMEnv
from ccmatrix.verdict.gate import GateVerdict, compare
from ccmatrix.verdict.results import RunResult

Replay = Callable[[LiteLLMEnv, str], RunResult]  # (environment, "base" or "head") -> its run


def _digest(root: Path) -> str:
    """The cassettes' content: a base replayed against other cassettes is another result."""
    sha = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        sha.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def result_key(env: LiteLLMEnv, cells: list[CellTier], cassettes: Path, options: dict[str, object]) -> str:
    parts = {"litellm": env.identity, "ccmatrix": __version__, "cassettes": _digest(cassettes),
             "cells": sorted(c.id for c in cells), "options": {k: str(v) for k, v in sorted(options.items())}}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def _kept(key: str) -> Path:
    return cache_dir() / "gate" / f"base-{key}.json"


def not_covered(base: LiteLLMEnv, head: LiteLLMEnv) -> list[str]:
    """What the head changes that replaying its Python packages does not exercise: its
    Rust crate (the compiled bridge is the release's: docs/litellm-envs.md)."""
    if base.tree is None or head.tree is None or base.tree.repo != head.tree.repo:
        return []
    proc = subprocess.run(["git", "-C", str(head.tree.repo), "diff", "--name-only", base.tree.commit,
                           head.tree.commit, "--", "litellm-rust"], capture_output=True, text=True)
    changed = [line for line in proc.stdout.splitlines() if line.strip()]
    if not changed:
        return []
    shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    return [f"the Rust crate: {len(changed)} file(s) under litellm-rust/ changed ({shown}); the compiled bridge "
            f"is litellm {head.base_release or head.version}'s wheel's, not built from the tree"]


def run_gate(cells: list[CellTier], base: LiteLLMEnv, head: LiteLLMEnv, cassettes: Path, replay: Replay,
             options: dict[str, object], base_label: str, head_label: str) -> GateVerdict:
    """Replay the base (or take its kept result) and the head, and compare them."""
    key = result_key(base, cells, cassettes, options)
    kept = _kept(key)
    base_result: RunResult | None = None
    if kept.exists():
        try:
            base_result = RunResult.model_validate_json(kept.read_bytes())
        except ValueError:
            base_result = None  # unreadable (an older ccmatrix wrote it): replayed again
    reused = base_result is not None
    if base_result is None:
        base_result = replay(base, "base")
        if not base_result.run_errors:  # a run that broke is not kept: the next gate replays it
            write_atomic(kept, base_result.model_dump_json() + "\n")
    head_result = base_result if head.identity == base.identity else replay(head, "head")
    return compare(base_result, head_result, base_label, head_label, base_reused=reused,
                   not_covered=not_covered(base, head))
