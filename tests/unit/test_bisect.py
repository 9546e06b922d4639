"""Bisecting LiteLLM releases: the search itself (a real two-release run is in tests/e2e/)."""

from __future__ import annotations

import pytest

from ccmatrix.run.bisect import BisectError, bisect, parse_index_versions, releases_between


def test_finds_first_bad_with_log_probes():
    releases = [f"1.{n}.0" for n in range(40)]
    calls = []

    def is_good(v):
        calls.append(v)
        return int(v.split(".")[1]) < 23, ""

    found = bisect(releases, is_good)
    assert (found.last_good, found.first_bad) == ("1.22.0", "1.23.0")
    assert len(calls) <= 2 + 6  # both ends, then log2(40)


def test_ends_are_verified():
    with pytest.raises(BisectError, match="not good"):
        bisect(["a", "b"], lambda v: (False, "boom"))
    with pytest.raises(BisectError, match="not bad"):
        bisect(["a", "b"], lambda v: (True, ""))


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
