"""Find the LiteLLM release where a cell changes verdict.

Candidates are releases from the package index between a good and a bad one (or a
list the user gives: releases, or paths to Python environments built from any
commit). Each probe replays the selected cells against one candidate; the search
keeps the invariant "`lo` behaves like good, `hi` like bad" and stops at adjacent
candidates, so it needs about log2(n) LiteLLM installs. A candidate that does not
build or start is skipped, not fatal; the search follows one failure (`--match`,
by default what fails at the bad end), so an unrelated failure does not steer it.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable, Literal, Sequence

from packaging.version import InvalidVersion, Version

from ccmatrix.errors import CcmatrixError
from ccmatrix.verdict.results import TierResult


class BisectError(CcmatrixError):
    pass


Verdict = Literal["good", "bad", "skip"]


@dataclass
class Probe:
    candidate: str
    verdict: Verdict
    detail: str = ""

    @property
    def good(self) -> bool:
        return self.verdict == "good"


@dataclass
class BisectResult:
    last_good: str
    first_bad: str
    probes: list[Probe] = field(default_factory=list)
    # candidates between last_good and first_bad that could not be judged: the first
    # bad one is first_bad or one of these
    untestable: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> list[Probe]:
        return [p for p in self.probes if p.verdict == "skip"]


def bisect(candidates: Sequence[str], judge: Callable[[str], tuple[Verdict, str]]) -> BisectResult:
    """`candidates` in order, first known good, last known bad (both are verified, the
    bad end first: what fails there is what the search follows). A candidate judged
    "skip" (it does not build or start) is stepped around, as `git bisect skip` does:
    the next probe is the untested candidate nearest the middle."""
    if len(candidates) < 2:
        raise BisectError("bisect needs at least two candidates")
    probes: list[Probe] = []

    def probe(index: int) -> Verdict:
        verdict, detail = judge(candidates[index])
        probes.append(Probe(candidates[index], verdict, detail))
        return verdict

    lo, hi = 0, len(candidates) - 1
    end = probe(hi)
    if end != "bad":
        raise BisectError(f"the 'bad' end {candidates[hi]} is not bad: "
                          + ("the cells pass there" if end == "good" else f"it cannot be judged: {probes[-1].detail}"))
    end = probe(lo)
    if end != "good":
        raise BisectError(f"the 'good' end {candidates[lo]} is not good: {probes[-1].detail}")
    skipped: set[int] = set()
    while True:
        inner = [i for i in range(lo + 1, hi) if i not in skipped]
        if not inner:
            break
        mid = min(inner, key=lambda i: (abs(2 * i - lo - hi), i))
        verdict = probe(mid)
        if verdict == "good":
            lo = mid
        elif verdict == "bad":
            hi = mid
        else:
            skipped.add(mid)
    return BisectResult(candidates[lo], candidates[hi], probes, [candidates[i] for i in range(lo + 1, hi)])


def failure_signature(tiers: Sequence[TierResult]) -> str | None:
    """What a search follows by default: the first failing tier's first load-bearing
    field path, else its first failed check, else the first line of its error."""
    for t in tiers:
        if t.status != "fail":
            continue
        for d in t.diffs:
            if d.load_bearing:
                return d.path
        if t.failed_checks:
            return t.failed_checks[0]
        return (t.error or "failed").splitlines()[0]
    return None


def failure_matches(t: TierResult, text: str) -> bool:
    """Whether a failing tier shows `text`: a field path, a check name, or error text."""
    return t.status == "fail" and (
        any(text in d.path for d in t.diffs) or text in t.failed_checks or text in (t.error or ""))


def judge_tiers(tiers: Sequence[TierResult], match: str | None) -> tuple[Verdict, str]:
    """A candidate's verdict on the selected cells: "skip" when some tier could not be
    judged (the run broke); "bad" when a failing tier shows `match` (any failure when
    None); else "good", even beside other failures, so they do not steer the search."""
    broken = [t for t in tiers if t.status == "error"]
    if broken:
        return "skip", (broken[0].error or "run error").splitlines()[0]
    failing = [t for t in tiers if t.status == "fail" and (match is None or failure_matches(t, match))]
    if failing:
        return "bad", f"[{failing[0].model_alias}] {failing[0].error or 'failed'}"
    others = [t for t in tiers if t.status == "fail"]
    if others:
        return "good", f"good for {match!r}; other failures: [{others[0].model_alias}] {others[0].error or 'failed'}"
    return "good", "pass"


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
