"""Across CI runners: split a selection into shards (ccmatrix.report.merge joins them).

    ccmatrix run --shard 1/3 --out shard-1      (on three runners: 1/3, 2/3, 3/3)
    ccmatrix merge --out matrix shard-1 shard-2 shard-3

A shard is a set of whole cells (a feature x provider, all its tiers), so a cell's
verdict never needs two runners. Cells are dealt round-robin in matrix order: the
same selection and N always give the same shards, and each shard gets rows and
providers of every kind (a slow column is spread over all runners).
"""

from __future__ import annotations

import re

from ccmatrix import catalog
from ccmatrix.errors import CcmatrixError

_SPEC = re.compile(r"^(\d+)/(\d+)$")


class ShardError(CcmatrixError):
    pass


def parse_shard(spec: str) -> tuple[int, int]:
    match = _SPEC.match(spec.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ShardError(f"--shard {spec!r}: expected K/N with 1 <= K <= N, e.g. 2/4")
    return int(match[1]), int(match[2])


def shard(cell_tiers: list[catalog.CellTier], spec: str) -> list[catalog.CellTier]:
    """The cell tiers of shard K of N: every N-th cell, from the K-th, with all its tiers."""
    k, n = parse_shard(spec)
    cells = list(dict.fromkeys((c.feature.id, c.provider.id) for c in cell_tiers))
    mine = set(cells[k - 1::n])
    return [c for c in cell_tiers if (c.feature.id, c.provider.id) in mine]
