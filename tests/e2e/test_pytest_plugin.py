"""The pytest plugin (ccmatrix.pytest_plugin): collection, ids, narrowing, and real
replays under xdist with JUnit XML and compatibility-matrix.json.

Collection tests run pytest in-process (fast). The `proxy` test runs pytest in a
subprocess under `-n 2` and starts two real LiteLLM proxies, one per worker.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ccmatrix import catalog
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.fsutil import cache_dir

pytest_plugins = ["pytester"]

# pytester points HOME at its tmp dir: keep the real cache (LiteLLM envs, mitmproxy CA)
REAL_CACHE = cache_dir()
# the rows with recorded cassettes (the catalog may list more implemented rows)
BASIC = ["basic_messaging_non_streaming", "basic_messaging_streaming"]
BASIC_ARGS = [arg for row in BASIC for arg in ("--ccmatrix-feature", row)]
N_BASIC = 30  # 2 rows x 5 providers x 3 tiers
LOST = "ccmatrix: a system block the proxy no longer sends"


def _entry_point_installed() -> bool:
    return any(ep.name == "ccmatrix" and ep.value == "ccmatrix.pytest_plugin"
               for ep in importlib.metadata.entry_points(group="pytest11"))


# Loading the plugin with -p as well as through its entry point would register it twice.
PLUGIN = [] if _entry_point_installed() else ["-p", "ccmatrix.pytest_plugin"]


@pytest.fixture(autouse=True)
def _real_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCMATRIX_CACHE", str(REAL_CACHE))


def expected_ids(cells: list[catalog.CellTier]) -> list[str]:
    return [f"ccmatrix::ccmatrix[{c.feature.id}-{c.provider.id}-{c.tier.id}]" for c in cells]


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("ccmatrix::")]


def junit_cases(junit: Path) -> dict[str, ET.Element]:
    return {tc.get("name"): tc for tc in ET.parse(junit).getroot().iter("testcase")}


def properties(testcase: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in testcase.iter("property")}


# ---------------------------------------------------------------- collection
def test_inert_without_the_flag(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one(): pass")
    result = pytester.runpytest_inprocess(*PLUGIN, "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    assert result.outlines[0] == "test_plain.py::test_one"
    assert "ccmatrix" not in result.stdout.str()

    empty = pytester.mkdir("empty")
    result = pytester.runpytest_inprocess(*PLUGIN, "--collect-only", "-q", str(empty))
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_collects_every_implemented_cell(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(*PLUGIN, "--ccmatrix", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert collected(result) == expected_ids(catalog.select())
    result.stdout.fnmatch_lines([f"{len(catalog.select())} tests collected*"])

    result = pytester.runpytest_inprocess(*PLUGIN, "--ccmatrix", "--collect-only", "-q", *BASIC_ARGS)
    ids = collected(result)
    assert len(ids) == N_BASIC
    assert ids == [f"ccmatrix::ccmatrix[{row}-{p.id}-{t}]"
                   for row in BASIC for p in catalog.PROVIDERS for t in ("haiku", "sonnet", "opus")]
    assert "ccmatrix::ccmatrix[basic_messaging_streaming-bedrock_invoke-haiku]" in ids

    # the nine-column view: the GPT-5.6 columns' cell tiers too (vertex_ai_gpt's as n/a)
    result = pytester.runpytest_inprocess(*PLUGIN, "--ccmatrix", "--collect-only", "-q", "--ccmatrix-columns=all")
    assert collected(result) == expected_ids(catalog.select(columns=catalog.Columns.ALL))
    assert "ccmatrix::ccmatrix[tool_use_streaming-bedrock_mantle-luna]" in collected(result)


def test_k_and_options_narrow_the_cells(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(*PLUGIN, "--ccmatrix", "--collect-only", "-q", *BASIC_ARGS,
                                          "-k", "bedrock_invoke and haiku")
    assert collected(result) == [
        "ccmatrix::ccmatrix[basic_messaging_non_streaming-bedrock_invoke-haiku]",
        "ccmatrix::ccmatrix[basic_messaging_streaming-bedrock_invoke-haiku]",
    ]
    result = pytester.runpytest_inprocess(*PLUGIN, "--ccmatrix", "--collect-only", "-q",
                                          "-k", "bedrock_invoke and haiku")
    assert collected(result) == expected_ids(catalog.select(providers=["bedrock_invoke"], tiers=["haiku"]))
    result = pytester.runpytest_inprocess(*PLUGIN, "--ccmatrix", "--collect-only", "-q",
                                          "--ccmatrix-provider", "azure", "--ccmatrix-provider", "vertex_ai",
                                          "--ccmatrix-tier", "claude-opus-4-7")
    assert collected(result) == expected_ids(catalog.select(providers=["vertex_ai", "azure"], tiers=["opus"]))
    result = pytester.runpytest_inprocess(*PLUGIN, "--ccmatrix", "--collect-only", "-q", "-m", "ccmatrix",
                                          "--ccmatrix-feature", "basic_messaging_streaming")
    assert len(collected(result)) == 15


def test_bad_selection_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(*PLUGIN, "--ccmatrix", "--collect-only", "--ccmatrix-provider", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ccmatrix: unknown provider 'nope'*"])
    unimplemented = [f.id for f in catalog.FEATURES if not f.implemented]
    if unimplemented:
        result = pytester.runpytest_inprocess(*PLUGIN, "--ccmatrix", "--collect-only",
                                              "--ccmatrix-feature", unimplemented[0])
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*no implemented cell*"])


def test_matrix_alone_unless_paths_are_given(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one(): pass")
    alone = pytester.runpytest_inprocess(*PLUGIN, "--ccmatrix", "--collect-only", "-q", *BASIC_ARGS)
    assert "test_plain.py::test_one" not in alone.outlines
    assert len(collected(alone)) == N_BASIC
    both = pytester.runpytest_inprocess(*PLUGIN, "--ccmatrix", "--collect-only", "-q", *BASIC_ARGS, "test_plain.py")
    assert both.outlines[0] == "test_plain.py::test_one"
    assert len(collected(both)) == N_BASIC


def test_recorded_failures_are_xfail(pytester: pytest.Pytester) -> None:
    root = pytester.path / "cassettes"
    shutil.copytree(catalog.DEFAULT_CASSETTE_DIR, root)
    known = catalog.CellTier.parse("basic_messaging_streaming/bedrock_converse/haiku")
    path = known.cassette_path(root, CLAUDE_CODE_VERSION)
    data = json.loads(path.read_text())
    data["verdict"] = {"status": "fail", "error": "Claude Code stops: API Error: Content block is not a text block"}
    path.write_text(json.dumps(data, indent=1))
    items, _ = pytester.inline_genitems(*PLUGIN, "--ccmatrix", *BASIC_ARGS, f"--ccmatrix-cassettes={root}")
    xfail = sorted(i.name for i in items if i.get_closest_marker("xfail"))
    recorded_fail = sorted(f"ccmatrix[{c.feature.id}-{c.provider.id}-{c.tier.id}]" for c in catalog.select(BASIC)
                           if json.loads(c.cassette_path(root, CLAUDE_CODE_VERSION).read_text())["verdict"]["status"] == "fail")
    assert recorded_fail == [f"ccmatrix[{known.feature.id}-{known.provider.id}-{known.tier.id}]"]
    assert xfail == recorded_fail
    assert all(i.get_closest_marker("ccmatrix") for i in items)


def test_not_applicable_cells_skip_without_a_proxy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    feature = catalog.feature("basic_messaging_non_streaming")
    monkeypatch.setitem(feature.not_applicable, ("anthropic", "*"), "no such model on this provider")
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_inprocess(*PLUGIN, "--ccmatrix", "-rs", "--junitxml", str(junit),
                                          "--ccmatrix-feature", feature.id, "--ccmatrix-provider", "anthropic",
                                          "--ccmatrix-out", "out")
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(["SKIPPED*not applicable: no such model on this provider*"])
    props = properties(junit_cases(junit)["ccmatrix[basic_messaging_non_streaming-anthropic-opus]"])
    assert props["status"] == "not_applicable"
    assert props["reason"] == "no such model on this provider"
    matrix = json.loads((pytester.path / "out" / "compatibility-matrix.json").read_text())
    cell = matrix["features"][0]["providers"]["anthropic"]
    assert cell["status"] == "not_applicable"


# ---------------------------------------------------------------- real replays
@pytest.mark.proxy
def test_replay_under_xdist_fails_a_broken_cassette_and_writes_junit_and_matrix(pytester: pytest.Pytester) -> None:
    """Two cells, one per worker (`-n 2`): one whose recording carries a system block the
    proxy no longer sends (a load-bearing loss: fails, naming it), one whose recording is
    of another conversation (passes, changed). The controller gathers both workers'
    verdicts into JUnit XML and compatibility-matrix.json."""
    root = pytester.path / "cassettes"
    shutil.copytree(catalog.DEFAULT_CASSETTE_DIR, root)
    path = catalog.CellTier.parse("basic_messaging_non_streaming/anthropic/haiku").cassette_path(root, CLAUDE_CODE_VERSION)
    data = json.loads(path.read_text())
    data["interactions"][0]["request"]["body"]["json"]["system"].append({"type": "text", "text": LOST})
    path.write_text(json.dumps(data, indent=1))
    behind = catalog.CellTier.parse("basic_messaging_streaming/anthropic/haiku").cassette_path(root, CLAUDE_CODE_VERSION)
    data = json.loads(behind.read_text())
    for block in data["interactions"][0]["request"]["body"]["json"]["messages"][0]["content"]:
        if block.get("text") == catalog.feature("basic_messaging_streaming").cli.prompt:
            block["text"] = "Count from 1 to 6, one number per line."
    behind.write_text(json.dumps(data, indent=1))

    junit = pytester.path / "ccmatrix.xml"
    result = pytester.runpytest_subprocess(
        *PLUGIN, "--ccmatrix", *BASIC_ARGS, "--ccmatrix-cassettes", str(root), "-n", "2", "-k", "anthropic and haiku",
        "--junitxml", str(junit), "--ccmatrix-out", str(pytester.path / "out"), timeout=600,
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*2 workers [[]2 items[]]*"])
    result.stdout.fnmatch_lines([
        "*_ ccmatrix[[]basic_messaging_non_streaming-anthropic-haiku[]] _*",
        "[[]claude-haiku-4-5[]] *",
        "load-bearing differences:",
        f"  body.system[[]*[]].text missing (recorded '{LOST}')",
        "recorded verdict: pass (regression)",
    ])
    result.stdout.fnmatch_lines(["*2 cell tier(s) against litellm *: 1 changed, 1 fail*"])
    result.stdout.fnmatch_lines(["regressed (recorded pass, now fail): basic_messaging_non_streaming/anthropic/haiku"])
    result.stdout.fnmatch_lines(["*CassetteBehind: basic_messaging_streaming/anthropic/haiku: new conversation: *"])

    cases = junit_cases(junit)
    assert sorted(cases) == ["ccmatrix[basic_messaging_non_streaming-anthropic-haiku]",
                             "ccmatrix[basic_messaging_streaming-anthropic-haiku]"]
    for case in cases.values():
        props = properties(case)
        assert case.get("classname") == "ccmatrix" and props["recorded_status"] == "pass"
        assert props["model"] == "claude-haiku-4-5" and props["cell"].endswith("/anthropic/haiku")
    broken = cases["ccmatrix[basic_messaging_non_streaming-anthropic-haiku]"]
    failure = broken.find("failure")
    assert failure is not None and "body.system" in failure.get("message", "")
    props = properties(broken)
    assert props["status"] == "fail" and "body.system" in props["error"] and LOST in props["diff"]
    changed = properties(cases["ccmatrix[basic_messaging_streaming-anthropic-haiku]"])
    assert changed["status"] == "changed" and "error" not in changed

    # the controller gathered the workers' verdicts
    matrix = json.loads((pytester.path / "out" / "compatibility-matrix.json").read_text())
    rows = {f["id"]: f["providers"] for f in matrix["features"]}
    assert rows["basic_messaging_non_streaming"]["anthropic"]["status"] == "fail"
    assert any(LOST in d for d in rows["basic_messaging_non_streaming"]["anthropic"]["tiers"]["haiku"]["diff"])
    assert rows["basic_messaging_streaming"]["anthropic"]["status"] == "pass"
    assert list(rows["basic_messaging_streaming"]["anthropic"]["tiers"]) == ["haiku"]
    assert rows["basic_messaging_streaming"]["azure"]["status"] == "not_tested"
