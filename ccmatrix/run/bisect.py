"""Find the LiteLLM release where a cell changes verdict.

Candidates are releases from the package index between a good and a bad one (or a
list the user gives: releases, or paths to Python environments built from any
commit). Each probe replays the selected cells against one candidate; the search
keeps the invariant "`lo` behaves like good, `hi` like bad" and stops at adjacent
candidates, so it needs about log2(n) LiteLLM installs (with several jobs, rounds of
candidates probed side by side, and fewer rounds). A candidate that does not build or
start is skipped, not fatal; the search follows one failure (`--match`, by default
what fails at the bad end), so an unrelated failure does not steer it.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Sequence, TypeVar

from packaging.version import InvalidVersion, Version

from ccmatrix import catalog
from ccmatrix.errors import CcmatrixError
from ccmatrix.proxy import package_index
from ccmatrix.proxy.mitmdump import Mitmdump
from ccmatrix.verdict.results import TierResult


class BisectError(CcmatrixError):
    pass


Verdict = Literal["good", "bad", "skip"]
T = TypeVar("T")


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


def bisect(candidates: Sequence[str], run: Callable[[str], T], judge: Callable[[str, T], tuple[Verdict, str]],
           jobs: int = 1) -> BisectResult:
    """`candidates` in order, first known good, last known bad (both are verified: what
    fails at the bad end is what the search follows, so it is judged first; the good end
    is probed only when the answer rests on it, in a round with a core to spare or at
    the end, as `git bisect` would otherwise trust it).

    `run` is the expensive part (install, start, replay) and runs for up to `jobs`
    candidates at a time; `judge` turns its result into a verdict, in this thread and
    in a fixed order (the bad end first, then by position). Each round probes `jobs`
    candidates that split the open range into `jobs + 1` near-equal parts (the first
    round: the bad end, and `jobs - 1` inner ones), so a round costs about one probe's
    time on as many cores and the search needs about log(n)/log(jobs + 1) rounds. A
    candidate judged "skip" (it does not build or start) is stepped around, as `git
    bisect skip` does: the next probe is the untested candidate nearest the split point."""
    if len(candidates) < 2:
        raise BisectError("bisect needs at least two candidates")
    jobs = max(1, jobs)
    probes: list[Probe] = []
    lo, hi = 0, len(candidates) - 1
    tried: set[int] = set()  # probed, whatever the verdict (a skipped one is not tried again)

    def split_points(count: int) -> list[int]:
        chosen: list[int] = []
        for k in range(1, count + 1):
            target = lo + k * (hi - lo) / (count + 1)
            left = [i for i in range(lo + 1, hi) if i not in tried and i not in chosen]
            if not left:
                break
            chosen.append(min(left, key=lambda i: (abs(i - target), i)))
        return sorted(chosen)

    with ThreadPoolExecutor(max_workers=jobs) as pool:

        def probe_round(indices: list[int]) -> dict[int, Probe]:
            tried.update(indices)
            futures = {i: pool.submit(run, candidates[i]) for i in indices}
            done: dict[int, Probe] = {}
            # the bad end first: its failure is what `judge` follows from then on
            for i in sorted(indices, key=lambda i: (i != len(candidates) - 1, i)):
                done[i] = Probe(candidates[i], *judge(candidates[i], futures[i].result()))
                probes.append(done[i])
            return done

        done = probe_round([hi] + split_points(jobs - 1))
        bad_end = done.pop(hi)
        if bad_end.verdict != "bad":
            raise BisectError(f"the 'bad' end {bad_end.candidate} is not bad: "
                              + ("the cells pass there" if bad_end.good else f"it cannot be judged: {bad_end.detail}"))
        good_end = 0
        while True:
            if good_end in done and not done[good_end].good:
                raise BisectError(f"the 'good' end {candidates[good_end]} is not good: {done[good_end].detail}")
            for i in sorted(done):  # in order, so a bad one bounds the goods above it
                if done[i].verdict == "good" and lo < i < hi:
                    lo = i
                elif done[i].verdict == "bad" and lo < i < hi:
                    hi = i
            points = split_points(jobs)
            if lo == good_end and good_end not in tried and len(points) < jobs:
                points = [good_end] + points  # the answer may rest on it: verify it with a spare core
            if not points:
                break
            done = probe_round(points)
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


def judge_replay(replayed: Sequence[TierResult] | str, match: str | None) -> tuple[Verdict, str]:
    """judge_tiers for a candidate's replay; a string is why it could not build or start."""
    if isinstance(replayed, str):
        return "skip", replayed
    return judge_tiers(replayed, match)


def index_versions(package: str = "litellm") -> list[str]:
    """Released versions on the package index: its JSON API's `versions` (PEP 700, one
    request), else `pip index versions` (an index that speaks only HTML; pip's plain
    output: `--json` only exists in newer pips)."""
    try:
        versions = package_index.versions(package)
    except package_index.PackageIndexError:
        versions = []
    if versions:
        return versions
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


# ---------------------------------------------------------------- over LiteLLM candidates


def one_line(message: str) -> str:
    """A process error in one line: what happened, and the last line of its log (the
    log file itself lives in a folder that is gone by the time anyone reads this)."""
    lines = message.splitlines()
    head = lines[0].split("; log ")[0].rstrip(":")
    last = next((line.strip() for line in reversed(lines[1:]) if line.strip()), "")
    return f"{head}: {last}" if last else head


def replay_candidate(candidate: str, cells: Sequence[catalog.CellTier], root: Path,
                     mitmdump: Mitmdump | None = None) -> list[TierResult] | str:
    """The tier results of one candidate (its LiteLLM behind `mitmdump`, or one of its own), or
    the one-line reason it could not build or start (a "skip", never the end of the search).
    Runs beside other candidates."""
    from ccmatrix.proxy.litellm_env import LiteLLMEnvError, resolve
    from ccmatrix.proxy.litellm_source import SourceError
    from ccmatrix.proxy.process import StackError
    from ccmatrix.run.runner import RunOptions, execute

    try:
        env = resolve(candidate)
        result = execute(list(cells), env, RunOptions(root=root), mitmdump=mitmdump)
    except (LiteLLMEnvError, SourceError, StackError) as exc:
        return one_line(str(exc))
    return [t for c in result.cells() for t in c.tiers]


@dataclass
class LiteLLMBisect:
    """A search for the first LiteLLM candidate where the selected cells stop passing: it
    follows `match`, or (None) what fails at the bad end, judged first."""

    cells: Sequence[catalog.CellTier]
    root: Path
    match: str | None = None
    # what each probe said, as it comes: (candidate, verdict, detail); and what is followed
    on_probe: Callable[[str, Verdict, str], None] = lambda candidate, verdict, detail: None
    on_following: Callable[[str | None], None] = lambda match: None
    failing: dict[str, list[TierResult]] = field(default_factory=dict)  # candidate -> its failing tiers

    def run(self, candidates: Sequence[str], jobs: int = 1) -> BisectResult:
        from ccmatrix.proxy.stack import SharedMitmdumps
        from ccmatrix.recorder.mode import Upstream

        with SharedMitmdumps(Upstream.REPLAY, self.root) as mitmdumps:  # one per job, before each candidate's LiteLLM
            return bisect(candidates, lambda c: replay_candidate(c, self.cells, self.root, mitmdumps.get()),
                          self._judge, jobs=jobs)

    def _judge(self, candidate: str, replayed: list[TierResult] | str) -> tuple[Verdict, str]:
        verdict, detail = judge_replay(replayed, self.match)
        tiers = [] if isinstance(replayed, str) else replayed
        if self.match is None and verdict == "bad":  # the bad end, judged first: follow what fails there
            self.match = failure_signature(tiers)
            self.on_following(self.match)
        self.failing[candidate] = [t for t in tiers if t.status == "fail"]
        self.on_probe(candidate, verdict, detail)
        return verdict, detail

    def lost_fields(self, candidate: str) -> list[str]:
        """The load-bearing differences of a candidate's failing tiers, described."""
        return sorted({d.describe() for t in self.failing.get(candidate, []) for d in t.diffs if d.load_bearing})
