"""The replay loop end to end: real LiteLLM proxy, real mitmdump, bundled cassettes.

The main job runs once per module, under strace, so one proxy start serves the
"all green as recorded" and the "no connection leaves the machine" checks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.run import runner
from tests.conftest import derive_cassette

pytestmark = pytest.mark.proxy
CCMATRIX = [sys.executable, "-m", "ccmatrix"]


@pytest.fixture(scope="module")
def main_job(tmp_path_factory):
    """`ccmatrix run` (the README's main job) on the bundled cassettes, traced."""
    if not shutil.which("strace"):
        pytest.fail("strace is required for the network test (apt-get install strace)")
    out = tmp_path_factory.mktemp("out")
    trace = out / "connect.trace"
    proc = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace), *CCMATRIX, "run", "--out", str(out)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )
    return proc, out, trace


def test_main_job_replays_every_cell_as_recorded(main_job):
    proc, out, _ = main_job
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    matrix = json.loads((out / "compatibility-matrix.json").read_text())
    assert matrix["schema_version"] == "1"
    assert [f["id"] for f in matrix["features"]] == [f.id for f in catalog.FEATURES]
    implemented = [f for f in catalog.FEATURES if f.implemented]
    for feature in implemented:
        row = next(f for f in matrix["features"] if f["id"] == feature.id)
        for provider in catalog.PROVIDERS:
            cell = row["providers"][provider.id]
            for t in catalog.TIERS:
                this = catalog.CellTier(feature, provider, t)
                got = cell["tiers"][t.id]["status"]
                if this.not_applicable_reason:
                    assert got == "not_applicable"
                    continue
                recorded = cassettes.load(this.cassette_path(), catalog.DEFAULT_CASSETTE_DIR).verdict.status
                assert got == recorded, (this.id, cell["tiers"][t.id])
    assert (out / "compatibility-matrix.html").exists() and (out / "summary.md").exists()


def test_basic_messaging_rows_green_where_litellm_is_correct(main_job):
    _, out, _ = main_job
    matrix = json.loads((out / "compatibility-matrix.json").read_text())
    rows = {f["id"]: f["providers"] for f in matrix["features"]}
    for provider in catalog.PROVIDERS:
        assert rows["basic_messaging_non_streaming"][provider.id]["status"] == "pass", provider.id
    for provider in ("anthropic", "bedrock_invoke", "vertex_ai", "azure"):
        assert rows["basic_messaging_streaming"][provider] ["status"] == "pass", provider
    # LiteLLM 1.108.7 repeats the first reasoning delta of a Converse stream in
    # content_block_start (docs/red-cells.md): the response check must see it.
    converse = rows["basic_messaging_streaming"]["bedrock_converse"]
    assert converse["status"] == "fail"
    assert "thinking block 0 thinking" in converse["error"]


_CONNECT = re.compile(r"connect\(\d+, \{sa_family=(AF_\w+)(?:, sin6?_port=htons\(\d+\))?(?:, (?:sin_addr=inet_addr\(\"([^\"]+)\"\)|inet_pton\(AF_INET6, \"([^\"]+)\"))?")


def test_replay_opens_no_non_loopback_connection(main_job):
    proc, _, trace = main_job
    assert proc.returncode == 0
    families: set[str] = set()
    outside = []
    connects = 0
    for line in trace.read_text().splitlines():
        match = _CONNECT.search(line)
        if not match:
            continue
        connects += 1
        family, v4, v6 = match.groups()
        families.add(family)
        if family == "AF_INET" and not (v4 or "").startswith("127."):
            outside.append(line)
        elif family == "AF_INET6" and (v6 or "") not in ("::1", "::ffff:127.0.0.1"):
            outside.append(line)
    # the trace did see the loopback traffic (client -> LiteLLM -> mitmdump)
    assert connects > 30 and "AF_INET" in families
    assert not outside, "non-loopback connections during replay:\n" + "\n".join(outside[:10])


def test_changed_load_bearing_field_turns_cell_red_naming_it(cassette_copy, litellm_env):
    cell = "basic_messaging_non_streaming/bedrock_invoke/haiku"

    def change_max_tokens(doc):
        doc["interactions"][0]["request"]["body"]["json"]["max_tokens"] = 1234

    derive_cassette(cassette_copy, cell, change_max_tokens)
    cells = [catalog.CellTier.parse(cell), catalog.CellTier.parse("basic_messaging_non_streaming/bedrock_invoke/sonnet")]
    result = runner.execute(cells, mode="replay", litellm=litellm_env, root=cassette_copy)
    broken, intact = result.rows[0].cells["bedrock_invoke"].tiers
    assert broken.status == "fail" and intact.status == "pass"
    assert "body.max_tokens" in broken.error and "1234" in broken.error
    assert broken.regressed  # recorded pass -> fail: `ccmatrix run` exits 3
    assert [d.path for d in broken.diffs if d.load_bearing] == ["body.max_tokens"]
    cell_result = result.rows[0].cells["bedrock_invoke"]
    assert cell_result.error.startswith("[claude-haiku-4-5-bedrock-invoke] ")


def test_regression_exits_3_and_corrupt_cassette_exits_2(cassette_copy, tmp_path):
    cell = "basic_messaging_streaming/vertex_ai/opus"
    derive_cassette(cassette_copy, cell, lambda d: d["interactions"][0]["request"]["body"]["json"].update(
        anthropic_version="vertex-1999-01-01"))
    proc = subprocess.run([*CCMATRIX, "run", "-f", "basic_messaging_streaming", "-p", "vertex_ai", "-t", "opus",
                           "--cassettes", str(cassette_copy), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "body.anthropic_version" in proc.stdout

    corrupt = catalog.CellTier.parse(cell).cassette_path(cassette_copy)
    corrupt.write_text(corrupt.read_text()[:500])
    proc = subprocess.run([*CCMATRIX, "run", "-f", "basic_messaging_streaming", "-p", "vertex_ai",
                           "--cassettes", str(cassette_copy), "--out", str(tmp_path / "out2")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert str(corrupt) in proc.stderr and "not valid JSON" in proc.stderr
    assert not (tmp_path / "out2").exists()  # nothing half-written


def test_drift_is_reported_and_fails_only_under_strict(cassette_copy, litellm_env):
    cell = "basic_messaging_non_streaming/anthropic/sonnet"

    def change_context_management(doc):  # not load-bearing for basic messaging
        doc["interactions"][0]["request"]["body"]["json"]["context_management"] = {"edits": []}

    derive_cassette(cassette_copy, cell, change_context_management)
    cells = [catalog.CellTier.parse(cell)]
    from ccmatrix.proxy.stack import Stack

    the_plan = runner.plan(cells, cassette_copy, "replay")
    with Stack.start("replay", cassette_copy, litellm_env, providers=[cells[0].provider]) as stack:
        lenient = runner.run_tier(cells[0], the_plan, stack, "replay", strict=False)
        strict = runner.run_tier(cells[0], the_plan, stack, "replay", strict=True)
    assert lenient.status == "pass"
    assert [d.path for d in lenient.drift][:1] == ["body.context_management.edits"]
    assert strict.status == "fail" and "drift (--strict)" in strict.error and "context_management" in strict.error


def test_ctrl_c_stops_litellm_and_mitmdump(tmp_path):
    import signal
    import time

    # SIGINT as a terminal delivers it: a shell that started this suite in the background
    # hands its children SIGINT ignored, and Python keeps an ignored SIGINT ignored
    proc = subprocess.Popen([*CCMATRIX, "run", "--out", str(tmp_path / "out")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    children: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(children) < 2:  # wait until both are up
        time.sleep(0.5)
        children = {int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                    text=True).stdout.split()}
    assert len(children) >= 2, "ccmatrix did not start LiteLLM and mitmdump"
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=60)[0].decode(errors="replace")
    assert proc.returncode == 130, output[-2000:]
    time.sleep(0.5)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()
             and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
    assert not alive, f"left running: {alive}"
    assert not (tmp_path / "out" / "compatibility-matrix.json").exists()  # nothing half-written


def test_every_chunking_replays_each_provider_stream_as_recorded(litellm_env):
    """Streams cut every way (ccmatrix/recorder/chunking.py) through the real LiteLLM:
    each provider's streaming tier keeps its recorded verdict under every chunking."""
    from ccmatrix.recorder.chunking import CHUNKINGS

    cells = [catalog.CellTier.parse(f"tool_use_streaming/{p.id}/sonnet") for p in catalog.PROVIDERS]
    result = runner.execute(cells, mode="replay", litellm=litellm_env, chunkings=list(CHUNKINGS))
    tiers = [t for c in result.cells() for t in c.tiers]
    assert len(tiers) == len(cells)
    for cell, tier in zip(cells, tiers):
        recorded = cassettes.load(cell.cassette_path(), catalog.DEFAULT_CASSETTE_DIR).verdict
        assert tier.chunkings == list(CHUNKINGS), tier
        assert (tier.status, tier.error) == (recorded.status, recorded.error), cell.id
