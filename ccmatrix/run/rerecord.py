"""What a re-recording changed, for the record command to name: per cell tier, its
recorded verdict and its upstream requests before and after.

When the nightly job re-records with a newer LiteLLM (`record --litellm latest`), the
cassettes, and with them the default release, move forward; a maintainer reading the
job's log or the pull request it opens learns here which cells' verdicts moved and which
requests LiteLLM now sends differently (the first differing fields of each).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.cassette.field_diff import FieldDiff, compare
from ccmatrix.recorder.match import view

Snapshot = dict[str, cassettes.Cassette]


@dataclass(frozen=True)
class TierChange:
    cell: str  # feature/provider/tier
    verdict: tuple[str, str] | None  # (before, after) when the recorded verdict moved
    requests: str | None  # the first differing fields of the upstream requests, summarised
    new: bool = False  # no recording before


def snapshot(cells: list[catalog.CellTier], root: Path, release: str) -> Snapshot:
    """The recordings the cells have now (before a re-recording)."""
    out: Snapshot = {}
    for cell in cells:
        path = cell.cassette_path(root, release)
        if path.exists():
            out[cell.id] = cassettes.load(path, root)
    return out


def _request_diffs(cell: catalog.CellTier, before: cassettes.Cassette, after: cassettes.Cassette) -> list[FieldDiff]:
    """The upstream requests' differences, turn by turn, the row's load-bearing fields first."""
    old, new = [view(i.request) for i in before.interactions], [view(i.request) for i in after.interactions]
    diffs: list[FieldDiff] = []
    for a, b in zip(old, new):
        diffs.extend(compare(a, b, cell.feature.load_bearing(cell.provider)))
    diffs.sort(key=lambda d: not d.load_bearing)
    if len(old) != len(new):
        diffs.append(FieldDiff(path="interactions", kind="changed", recorded=len(old), observed=len(new),
                               load_bearing=False))
    return diffs


def changes(before: Snapshot, cells: list[catalog.CellTier], root: Path, release: str) -> list[TierChange]:
    found = []
    for cell in cells:
        path = cell.cassette_path(root, release)
        if not path.exists():
            continue
        after = cassettes.load(path, root)
        old = before.get(cell.id)
        if old is None:
            found.append(TierChange(cell.id, None, None, new=True))
            continue
        was, now = (old.verdict.status if old.verdict else "?"), (after.verdict.status if after.verdict else "?")
        diffs = _request_diffs(cell, old, after)
        if was != now or diffs:
            found.append(TierChange(cell.id, (was, now) if was != now else None, _summary(diffs) if diffs else None))
    return found


def _summary(diffs: list[FieldDiff], limit: int = 3) -> str:
    shown = "; ".join(d.describe() + (" [load-bearing]" if d.load_bearing else "") for d in diffs[:limit])
    return shown + (f"; and {len(diffs) - limit} more" if len(diffs) > limit else "")


def render(changed: list[TierChange], limit: int = 40) -> list[str]:
    """A line per changed tier (verdicts first), at most `limit`, the rest counted."""
    ordered = sorted(changed, key=lambda c: (c.verdict is None, c.new, c.cell))
    lines = []
    for change in ordered[:limit]:
        parts = []
        if change.new:
            parts.append("recorded for the first time")
        if change.verdict:
            parts.append(f"verdict {change.verdict[0]} -> {change.verdict[1]}")
        if change.requests:
            parts.append(f"upstream requests: {change.requests}")
        lines.append(f"  {change.cell}: {'; '.join(parts)}")
    if len(ordered) > limit:
        lines.append(f"  ... and {len(ordered) - limit} more tier(s)")
    return lines
