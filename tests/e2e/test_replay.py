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
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.proxy.litellm_fork import spawned_litellm
from ccmatrix.report.merge import load_run
from ccmatrix.run import runner
from ccmatrix.run.runner import RunOptions
from tests.conftest import derive_cassette

pytestmark = pytest.mark.proxy
CCMATRIX = [sys.executable, "-m", "ccmatrix"]
STREAMING_PROMPT = catalog.feature("basic_messaging_streaming").cli.prompt


@pytest.fixture(scope="module")
def main_job(tmp_path_factory):
    """`ccmatrix run` (the README's main job) on the bundled cassettes, traced, with LiteLLM started as a
    user's run starts it: not forked by the suite's fork server (whose proxies strace would not see)."""
    if not shutil.which("strace"):
        pytest.fail("strace is required for the network test (apt-get install strace)")
    out = tmp_path_factory.mktemp("out")
    trace = out / "connect.trace"
    proc = subprocess.run(
        ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=connect", "-o", str(trace), *CCMATRIX, "run", "--out", str(out)],
        capture_output=True, text=True, timeout=600, env={**spawned_litellm(os.environ), "COLUMNS": "200"},
    )
    return proc, out, trace


def test_main_job_replays_every_cell_as_recorded(main_job):
    proc, out, _ = main_job
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    matrix = json.loads((out / "compatibility-matrix.json").read_text())
    assert matrix["schema_version"] == "1"
    assert matrix["providers"] == [p.id for p in catalog.PROVIDERS]  # the published five, by default
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
                recorded = cassettes.load(this.cassette_path(catalog.DEFAULT_CASSETTE_DIR, CLAUDE_CODE_VERSION), catalog.DEFAULT_CASSETTE_DIR).verdict.status
                assert got == recorded, (this.id, cell["tiers"][t.id])
    assert (out / "compatibility-matrix.html").exists() and (out / "summary.md").exists()


def test_basic_messaging_rows_green_where_litellm_is_correct(main_job):
    _, out, _ = main_job
    matrix = json.loads((out / "compatibility-matrix.json").read_text())
    rows = {f["id"]: f["providers"] for f in matrix["features"]}
    for provider in catalog.PROVIDERS:
        assert rows["basic_messaging_non_streaming"][provider.id]["status"] == "pass", provider.id
    for provider in catalog.PROVIDERS:
        assert rows["basic_messaging_streaming"][provider.id]["status"] == "pass", provider.id
    # LiteLLM 1.108.7 opened a Converse thinking block with the first reasoning fragment,
    # which the first delta repeated (docs/red-cells.md: Claude Code takes the deltas only,
    # so the cell passed, with the wire check's finding beside it); 1.110.2 no longer does
    converse = rows["basic_messaging_streaming"]["bedrock_converse"]["tiers"]["haiku"]
    assert not any(f["kind"] == "client_stream_intact" for f in converse["findings"]), converse


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


LOST = "ccmatrix: a system block the proxy no longer sends"


def _recorded_more(doc):
    """The recording carries a system block the proxy's request now lacks: a load-bearing loss."""
    doc["interactions"][0]["request"]["body"]["json"]["system"].append({"type": "text", "text": LOST})


def test_a_lost_load_bearing_field_turns_the_cell_red_naming_it(cassette_copy, litellm_env, replay_stack):
    cell = "basic_messaging_non_streaming/bedrock_invoke/haiku"
    derive_cassette(cassette_copy, cell, _recorded_more)
    cells = [catalog.CellTier.parse(cell), catalog.CellTier.parse("basic_messaging_non_streaming/bedrock_invoke/sonnet")]
    result = runner.execute(cells, litellm_env, RunOptions(root=cassette_copy), stack=replay_stack)
    broken, intact = result.rows[0].cells["bedrock_invoke"].tiers
    assert broken.status == "fail" and intact.status == "pass"
    assert "missing" in broken.error and LOST in broken.error
    assert broken.regressed  # recorded pass -> fail: `ccmatrix run` exits 3
    assert sorted((d.path.rsplit(".", 1)[-1], d.kind, d.recorded) for d in broken.diffs if d.load_bearing) == [
        ("text", "missing", LOST), ("type", "missing", "text")]
    cell_result = result.rows[0].cells["bedrock_invoke"]
    assert cell_result.error.startswith("[claude-haiku-4-5-bedrock-invoke] ")


def test_a_changed_load_bearing_value_is_a_finding_not_a_failure(cassette_copy, litellm_env, replay_stack):
    """Nothing was lost: Claude Code works (as the live matrix would say); what changed is
    reported beside the verdict, high, and fails only under --strict."""
    cell = "basic_messaging_non_streaming/bedrock_invoke/haiku"
    derive_cassette(cassette_copy, cell, lambda d: d["interactions"][0]["request"]["body"]["json"].update(max_tokens=1234))
    result = runner.execute([catalog.CellTier.parse(cell)], litellm_env, RunOptions(root=cassette_copy),
                            stack=replay_stack)
    (tier,) = result.rows[0].cells["bedrock_invoke"].tiers
    assert tier.status == "pass", tier.error
    assert [d.describe() for d in tier.diffs if d.load_bearing] == ["body.max_tokens changed: 1234 -> 32000"]
    (finding,) = [f for f in tier.findings if f.kind == "load-bearing-changed"]
    assert finding.severity == "high" and "body.max_tokens changed: 1234 -> 32000" in finding.message


def test_exit_codes_a_regression_3_changed_a_warning_strict_3_a_corrupt_cassette_2(cassette_copy, tmp_path):
    """One run, two derived cassettes: a lost load-bearing field (Vertex) is a regression
    (exit 3, the field named), a recording of another conversation (first party) only a
    warning. Under --strict the changed tier fails too; a corrupt cassette stops the
    run before anything is written (exit 2)."""
    lost, changed = "basic_messaging_streaming/vertex_ai/opus", "basic_messaging_streaming/anthropic/haiku"
    derive_cassette(cassette_copy, lost, _recorded_more)
    derive_cassette(cassette_copy, changed, _ask_about_coffee)
    env = {**os.environ, "COLUMNS": "200"}

    def run(*args: str, out: str) -> subprocess.CompletedProcess:
        # one stack: a second would only start another LiteLLM for these few tiers
        return subprocess.run([*CCMATRIX, "run", "-f", "basic_messaging_streaming", *args, "--jobs", "1",
                               "--cassettes", str(cassette_copy), "--out", str(tmp_path / out)],
                              capture_output=True, text=True, timeout=300, env=env)

    proc = run("-p", "anthropic", "-p", "vertex_ai", "-t", "haiku", "-t", "opus", out="a")
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert LOST in proc.stdout
    assert "1 cell tier(s) changed" in proc.stderr and "re-record" in proc.stderr
    matrix = json.loads((tmp_path / "a" / "compatibility-matrix.json").read_text())
    providers = next(f for f in matrix["features"] if f["id"] == "basic_messaging_streaming")["providers"]
    entry = providers["anthropic"]
    assert entry["status"] == "pass" and entry["changed"] is True  # a warning: the cell stays green
    assert entry["tiers"]["haiku"]["status"] == "changed"
    assert entry["tiers"]["haiku"]["changes"][0].startswith("new conversation: ")
    assert providers["vertex_ai"]["status"] == "fail" and providers["vertex_ai"]["tiers"]["opus"]["status"] == "fail"
    assert "changed" in (tmp_path / "a" / "summary.md").read_text()

    strict = run("-p", "anthropic", "-t", "haiku", "--strict", out="b")
    assert strict.returncode == 3, strict.stdout[-2000:]  # recorded pass, now failing: the gate
    assert "changed (--strict): new conversation" in strict.stdout

    corrupt = catalog.CellTier.parse(lost).cassette_path(cassette_copy, CLAUDE_CODE_VERSION)
    corrupt.write_text(corrupt.read_text()[:500])
    proc = run("-p", "vertex_ai", out="c")
    assert proc.returncode == 2
    assert str(corrupt) in proc.stderr and "not valid JSON" in proc.stderr
    assert not (tmp_path / "c").exists()  # nothing half-written


def test_drift_is_reported_and_fails_only_under_strict(cassette_copy, litellm_env, replay_stack):
    cell = "basic_messaging_non_streaming/anthropic/sonnet"

    def change_context_management(doc):  # not load-bearing for basic messaging
        doc["interactions"][0]["request"]["body"]["json"]["context_management"] = {"edits": []}

    derive_cassette(cassette_copy, cell, change_context_management)
    cells = [catalog.CellTier.parse(cell)]
    lenient_options, strict_options = RunOptions(root=cassette_copy), RunOptions(root=cassette_copy, strict=True)
    with runner.StackRun(runner.plan(cells, lenient_options), litellm_env, lenient_options,
                         stack=replay_stack) as on_stack:
        lenient = on_stack.run(cells[0])
        on_stack.options = strict_options  # the same stack, judged strictly
        strict = on_stack.run(cells[0])
    assert lenient.status == "pass"
    assert [d.path for d in lenient.drift][:1] == ["body.context_management.edits"]
    assert strict.status == "fail" and "drift (--strict)" in strict.error and "context_management" in strict.error


def test_ctrl_c_stops_litellm_and_mitmdump(tmp_path):
    import signal
    import time

    # SIGINT as a terminal delivers it: a shell that started this suite in the background
    # hands its children SIGINT ignored, and Python keeps an ignored SIGINT ignored
    # one stack (--jobs 1): two would only start a second LiteLLM for the signal to stop; LiteLLM spawned
    # as a user's run spawns it (its children are what this test watches), not forked by the suite
    proc = subprocess.Popen([*CCMATRIX, "run", "--jobs", "1", "--out", str(tmp_path / "out")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True, env=spawned_litellm(os.environ),
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


def test_every_chunking_replays_each_provider_stream_as_recorded(litellm_env, replay_stack):
    """Streams cut every way (ccmatrix/recorder/chunking.py) through the real LiteLLM:
    each provider's streaming tier keeps its recorded verdict under every chunking."""
    from ccmatrix.recorder.chunking import CHUNKINGS

    cells = [catalog.CellTier.parse(f"tool_use_streaming/{p.id}/sonnet") for p in catalog.PROVIDERS]
    result = runner.execute(cells, litellm_env, RunOptions(chunkings=list(CHUNKINGS)), stack=replay_stack)
    tiers = [t for c in result.cells() for t in c.tiers]
    assert len(tiers) == len(cells)
    for cell, tier in zip(cells, tiers):
        recorded = cassettes.load(cell.cassette_path(catalog.DEFAULT_CASSETTE_DIR, CLAUDE_CODE_VERSION), catalog.DEFAULT_CASSETTE_DIR).verdict
        assert tier.chunkings == list(CHUNKINGS), tier
        assert (tier.status, tier.error) == (recorded.status, recorded.error), cell.id


# ---------------------------------------------------------------- changed: the cassette is behind


def _tier(result, cell_id: str):
    cell = catalog.CellTier.parse(cell_id)
    return next(t for t in result.cells() for t in t.tiers if (t.feature, t.provider, t.tier) ==
                (cell.feature.id, cell.provider.id, cell.tier.id))


def _ask_about_coffee(doc):
    """The recording's conversation is another one than the client's (as when a client
    capture changes what it asks)."""
    for interaction in doc["interactions"]:
        for block in interaction["request"]["body"]["json"]["messages"][0]["content"]:
            if block.get("text") == STREAMING_PROMPT:
                block["text"] = "Count from 1 to 6, one number per line."


def test_requests_the_recording_never_saw_are_changed_not_red(cassette_copy, litellm_env, replay_stack):
    """A new conversation, a new route and a turn beyond the recording's last are answered
    by the emulator (contract-checked) and the tier is `changed`, with what to review."""
    conversation = "basic_messaging_streaming/anthropic/haiku"
    derive_cassette(cassette_copy, conversation, _ask_about_coffee)
    new_route = "basic_messaging_non_streaming/azure/haiku"
    derive_cassette(cassette_copy, new_route, lambda d: d["interactions"][0]["request"].update(
        url=d["interactions"][0]["request"]["url"].replace("/anthropic/v1/messages", "/anthropic/v1/messages-old")))
    new_turn = "tool_use/anthropic/sonnet"
    derive_cassette(cassette_copy, new_turn, lambda d: d["interactions"].pop(1))
    cells = [catalog.CellTier.parse(c) for c in (conversation, new_route, new_turn)]
    result = runner.execute(cells, litellm_env, RunOptions(root=cassette_copy), stack=replay_stack)
    for cell_id, reason in ((conversation, "new conversation"), (new_route, "new route"), (new_turn, "new turn")):
        tier = _tier(result, cell_id)
        assert tier.status == "changed", (cell_id, tier.error)
        assert [c.reason for c in tier.changes] == [reason], cell_id
        assert tier.passed and not tier.regressed
    assert _tier(result, conversation).changes[0].diffs, "the diff against the closest recording, to review"
    assert len(result.changed) == 3


def test_a_dropped_message_stays_red(cassette_copy, litellm_env, replay_stack):
    """Fewer messages than a recorded turn is a loss, not a turn the recording never reached."""
    cell = "tool_use/anthropic/sonnet"

    path = catalog.CellTier.parse(cell).cassette_path(cassette_copy, CLAUDE_CODE_VERSION)
    recorded = cassettes.load(path, cassette_copy)  # blobs resolved: the whole conversation
    messages = recorded.interactions[1].request.body.json_["messages"]
    messages.insert(1, {"role": "assistant", "content": [{"type": "text", "text": "Running it."}]})
    messages.insert(2, {"role": "user", "content": [{"type": "text", "text": "Go on."}]})
    cassettes.save(recorded, path, cassette_copy)
    result = runner.execute([catalog.CellTier.parse(cell)], litellm_env, RunOptions(root=cassette_copy),
                            stack=replay_stack)
    tier = _tier(result, cell)
    assert tier.status == "fail" and "no recorded request" in tier.error and not tier.changes


def test_a_users_proxy_config_runs_the_cells_it_names(tmp_path, litellm_env):
    """--config: the user's deployments serve the cells named by the published aliases;
    the rest are not tested, saying why."""
    import yaml

    from ccmatrix.proxy import litellm_config

    ours = litellm_config.build_config()
    mine = {"model_list": [m for m in ours["model_list"] if m["model_name"] == "claude-haiku-4-5"],
            "litellm_settings": {"drop_params": True}}
    config = tmp_path / "mine.yaml"
    config.write_text(yaml.safe_dump(mine))
    cells = catalog.select(features=["basic_messaging_streaming"], providers=["anthropic"])
    result = runner.execute(cells, litellm_env, RunOptions(config=config))
    tiers = {t.tier: t for c in result.cells() for t in c.tiers}
    assert tiers["haiku"].status == "pass", tiers["haiku"].error
    assert (tiers["sonnet"].status, tiers["sonnet"].reason) == (
        "not_tested", "no deployment named claude-sonnet-4-6 in mine.yaml")
    assert result.proxy_config == "mine.yaml"
    assert result.rows[1].cells["anthropic"].status == "not_tested"


def test_stacks_side_by_side_judge_as_one_stack_does(main_job, litellm_env, replay_stack):
    """`--jobs 2` (the main job's default on two cores): each stack replays its share of
    whole cells; the run is the same, tier for tier, as one stack's."""
    _, out, _ = main_job
    two = load_run(out / "ccmatrix-run.json")
    assert two.stacks == 2  # two LiteLLMs side by side
    cells = catalog.select(features=["thinking", "tool_use"], providers=["anthropic", "bedrock_invoke", "vertex_ai"])
    one = runner.execute(cells, litellm_env, stack=replay_stack)
    assert one.stacks == 1
    chosen = {c.id for c in cells}
    verdicts = [[(t.feature, t.provider, t.tier, t.status, t.error) for c in r.cells() for t in c.tiers
                 if f"{t.feature}/{t.provider}/{t.tier}" in chosen] for r in (one, two)]
    assert verdicts[0] == verdicts[1] and len(verdicts[0]) == len(cells)
    assert all(status == "pass" for *_, status, _ in verdicts[1])
