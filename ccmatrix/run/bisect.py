"""Find the LiteLLM release where a cell changes verdict.

Candidates are releases from the package index between a good and a bad one (or a
list the user gives: releases, or paths to Python environments built from any
commit). Each probe replays the selected cells against one candidate; the search
keeps the invariant "`lo` behaves like good, `hi` like bad" and stops at adjacent
candidates, so it needs about log2(n) LiteLLM installs.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable, Sequence

from packaging.version import InvalidVersion, Version

from ccmatrix.errors import CcmatrixError


class BisectError(CcmatrixError):
    pass


@dataclass
class Probe:
    candidate: str
    good: bool
    detail: str = ""


@dataclass
class BisectResult:
    last_good: str
    first_bad: str
    probes: list[Probe] = field(default_factory=list)


def bisect(candidates: Sequence[str], is_good: Callable[[str], tuple[bool, str]]) -> BisectResult:
    """`candidates` in order, first known good, last known bad (both are verified)."""
    if len(candidates) < 2:
        raise BisectError("bisect needs at least two candidates")
    probes: list[Probe] = []

    def probe(index: int) -> bool:
        good, detail = is_good(candidates[index])
        probes.append(Probe(candidates[index], good, detail))
        return good

    lo, hi = 0, len(candidates) - 1
    if not probe(lo):
        raise BisectError(f"the 'good' end {candidates[lo]} is not good: {probes[-1].detail}")
    if probe(hi):
        raise BisectError(f"the 'bad' end {candidates[hi]} is not bad: the cells pass there")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if probe(mid):
            lo = mid
        else:
            hi = mid
    return BisectResult(candidates[lo], candidates[hi], probes)


def index_versions(package: str = "litellm") -> list[str]:
    """Released versions on the package index, via pip (its plain output: `--json`
    only exists in newer pips)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", package], capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise BisectError(f"cannot list {package} releases: {proc.stderr.strip()[-300:]}")
    return parse_index_versions(proc.stdout)


def parse_index_versions(output: str) -> list[str]:
    for line in output.splitlines():
        if line.startswith("Available versions:"):
            return [v.strip() for v in line.split(":", 1)[1].split(",") if v.strip()]
    raise BisectError(f"unexpected `pip index versions` output: {output[:200]!r}")


def releases_between(good: str, bad: str, available: Sequence[str]) -> list[str]:
    """Releases from good to bad inclusive, in the direction good -> bad (a fix is
    found by giving the newer release as good)."""
    try:
        g, b = Version(good), Version(bad)
    except InvalidVersion as exc:
        raise BisectError(f"not a release number: {exc}") from None
    low, high = min(g, b), max(g, b)
    chosen = sorted(
        {v for v in available if not Version(v).is_prerelease and low <= Version(v) <= high}, key=Version
    )
    for end in (good, bad):
        if end not in chosen:
            raise BisectError(f"litellm {end} is not on the package index")
    return chosen if g < b else list(reversed(chosen))
