"""Bisecting LiteLLM releases: the search itself (a real two-release run is in tests/e2e/)."""

from __future__ import annotations

import threading
import time

import pytest

from ccmatrix import catalog
from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.run.bisect import (
    BisectError,
    bisect,
    failure_signature,
    judge_tiers,
    parse_index_versions,
    releases_between,
)
from ccmatrix.verdict.results import TierResult


def _verdict(candidate, ran):
    return ran  # the runs below return their verdict already


def test_finds_first_bad_with_log_probes():
    releases = [f"1.{n}.0" for n in range(40)]
    calls = []

    def judge(v):
        calls.append(v)
        return ("good" if int(v.split(".")[1]) < 23 else "bad"), ""

    found = bisect(releases, judge, _verdict)
    assert (found.last_good, found.first_bad) == ("1.22.0", "1.23.0")
    assert calls[0] == "1.39.0"  # the bad end first: what fails there is what is followed
    assert "1.0.0" not in calls  # the good end is trusted while the answer does not rest on it
    assert len(calls) <= 1 + 6  # the bad end, then log2(40)
    assert found.untestable == [] and found.skipped == []


def test_ends_are_verified():
    with pytest.raises(BisectError, match="'good' end a is not good: boom"):
        bisect(["a", "b"], lambda v: ("bad", "boom"), _verdict)
    with pytest.raises(BisectError, match="not bad: the cells pass there"):
        bisect(["a", "b"], lambda v: ("good", ""), _verdict)
    with pytest.raises(BisectError, match="'bad' end b is not bad: it cannot be judged: no start"):
        bisect(["a", "b"], lambda v: ("skip", "no start"), _verdict)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_good_end_that_is_bad_is_caught_when_the_answer_rests_on_it(jobs):
    releases = [f"1.{n}.0" for n in range(10)]
    with pytest.raises(BisectError, match="'good' end 1.0.0 is not good"):
        bisect(releases, lambda v: ("bad", ""), _verdict, jobs=jobs)


def test_candidates_that_cannot_be_judged_are_stepped_around():
    releases = [f"1.{n}.0" for n in range(20)]
    broken = {"1.9.0", "1.10.0", "1.4.0"}

    def judge(v):
        if v in broken:
            return "skip", f"litellm {v} exited with code 1"
        return ("good" if int(v.split(".")[1]) < 12 else "bad"), ""

    found = bisect(releases, judge, _verdict)
    assert (found.last_good, found.first_bad, found.untestable) == ("1.11.0", "1.12.0", [])
    assert {p.candidate for p in found.skipped} <= broken and found.skipped
    assert all(p.detail.endswith("exited with code 1") for p in found.skipped)


def test_a_first_bad_behind_skipped_candidates_is_reported_as_a_range():
    releases = [f"1.{n}.0" for n in range(10)]

    def judge(v):
        n = int(v.split(".")[1])
        if n in (5, 6):
            return "skip", "does not start"
        return ("good" if n < 6 else "bad"), ""

    found = bisect(releases, judge, _verdict)
    assert (found.last_good, found.first_bad, found.untestable) == ("1.4.0", "1.7.0", ["1.5.0", "1.6.0"])


def test_several_jobs_probe_side_by_side_in_fewer_rounds():
    releases = [f"1.{n}.0" for n in range(50)]
    running, most = [], [0]
    lock = threading.Lock()

    def run(v):
        with lock:
            running.append(v)
            most[0] = max(most[0], len(running))
        time.sleep(0.05)  # long enough for the round's other probes to start
        with lock:
            running.remove(v)
        return ("good" if int(v.split(".")[1]) < 23 else "bad"), ""

    judged = []

    def judge(v, ran):
        judged.append(v)
        return ran

    found = bisect(releases, run, judge, jobs=2)
    assert (found.last_good, found.first_bad) == ("1.22.0", "1.23.0")
    assert most[0] == 2  # two at a time, never more
    assert judged[:2] == ["1.49.0", "1.24.0"]  # the bad end and the middle in the first round, the bad end judged first
    # then thirds of what is left: 2 + 2 * ceil(log3(25)) probes at most
    assert len(judged) <= 2 + 2 * 3
    sequential = bisect(releases, run, judge, jobs=1)
    assert (sequential.last_good, sequential.first_bad) == (found.last_good, found.first_bad)


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_every_first_bad_is_found_with_any_number_of_jobs(jobs):
    releases = [f"1.{n}.0" for n in range(17)]
    for first_bad in range(1, 17):
        found = bisect(releases, lambda v, fb=first_bad: ("good" if int(v.split(".")[1]) < fb else "bad", ""),
                       _verdict, jobs=jobs)
        assert found.first_bad == f"1.{first_bad}.0" and found.last_good == f"1.{first_bad - 1}.0"
        # an answer that rests on the good end has it verified; otherwise it may go unprobed
        assert first_bad > 1 or "1.0.0" in {p.candidate for p in found.probes}


def _tier(status: str, error: str | None = None, checks=(), diffs=()) -> TierResult:
    cell = catalog.CellTier.parse("thinking/bedrock_invoke/sonnet")
    return TierResult(feature="thinking", provider="bedrock_invoke", tier="sonnet", model_alias=cell.proxy_model,
                      status=status, error=error, failed_checks=list(checks), diffs=list(diffs))


EFFORT = FieldDiff(path="body.output_config.effort", kind="missing", recorded="max", load_bearing=True)


def test_the_search_follows_one_failure():
    effort_lost = _tier("fail", "upstream request lost a load-bearing field", ["load_bearing"], [EFFORT])
    other = _tier("fail", "claude CLI failed: exit=1; text=API Error: Content block is not a text block")
    assert failure_signature([_tier("pass"), effort_lost]) == "body.output_config.effort"
    assert failure_signature([other]) == "claude CLI failed: exit=1; text=API Error: Content block is not a text block"
    assert judge_tiers([effort_lost], "body.output_config.effort")[0] == "bad"
    # another failure on the same cells does not make a candidate bad for the one followed
    verdict, detail = judge_tiers([other], "body.output_config.effort")
    assert verdict == "good" and "other failures" in detail
    assert judge_tiers([other], None)[0] == "bad"
    assert judge_tiers([other], "Content block is not a text block")[0] == "bad"
    assert judge_tiers([_tier("error", "run error during thinking/bedrock_invoke/sonnet: LiteLLM exited")],
                       None) == ("skip", "run error during thinking/bedrock_invoke/sonnet: LiteLLM exited")


def test_releases_between_orders_from_good_to_bad_and_skips_prereleases():
    available = ["1.84.0", "1.83.14", "1.83.13", "1.84.0rc1", "1.85.0"]
    assert releases_between("1.83.13", "1.84.0", available) == ["1.83.13", "1.83.14", "1.84.0"]
    # finding a fix: the newer release is the good one
    assert releases_between("1.84.0", "1.83.14", available) == ["1.84.0", "1.83.14"]
    with pytest.raises(BisectError, match="not on the package index"):
        releases_between("1.83.13", "1.99.0", available)


def test_parses_pip_index_output():
    out = "litellm (1.84.0)\nAvailable versions: 1.84.0, 1.83.14, 1.83.13\n  INSTALLED: 1.83.14\n"
    assert parse_index_versions(out) == ["1.84.0", "1.83.14", "1.83.13"]
    with pytest.raises(BisectError):
        parse_index_versions("ERROR: no matching distribution")
