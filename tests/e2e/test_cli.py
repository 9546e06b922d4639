"""The command line: usage errors exit 2 with a clear message, diff gates with 3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ccmatrix.bundled import CHECKOUT_DIR
from ccmatrix.proxy.litellm_env import DEFAULT_LITELLM_VERSION

CCMATRIX = [sys.executable, "-m", "ccmatrix"]

REFERENCE = CHECKOUT_DIR.parent / "shared" / "reference" / "litellm-docs-compatibility-matrix.json"


def ccmatrix(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ccmatrix", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def reference(tmp_path) -> Path:
    if REFERENCE.exists():
        return REFERENCE
    pytest.skip(f"{REFERENCE} is not beside the checkout")


def test_unknown_feature_is_a_usage_error():
    proc = ccmatrix("run", "-f", "telepathy", "--out", "/nonexistent/out")
    assert proc.returncode == 2
    assert "unknown feature 'telepathy'" in proc.stderr and "basic_messaging_streaming" in proc.stderr


def test_unknown_litellm_path_is_a_usage_error(tmp_path):
    proc = ccmatrix("run", "-f", "thinking", "--litellm", str(tmp_path / "no-env"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "neither a release number" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_unknown_chunking_is_a_usage_error(tmp_path):
    proc = ccmatrix("run", "-f", "thinking", "--chunkings", "events,bytes7", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "--chunkings: unknown chunking bytes7; choose from coalesced, recorded, events" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_diff_gates_pass_to_fail(reference, tmp_path):
    new = json.loads(reference.read_text())
    row = next(f for f in new["features"] if f["id"] == "thinking")
    row["providers"]["bedrock_invoke"] = {"status": "fail", "error": "[claude-opus-4-7-bedrock-invoke] effort lost"}
    changed = tmp_path / "new.json"
    changed.write_text(json.dumps(new))
    proc = ccmatrix("diff", str(reference), str(changed))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "thinking" in proc.stdout and "bedrock_invoke" in proc.stdout
    assert "[claude-opus-4-7-bedrock-invoke]" in proc.stdout  # not eaten as markup
    assert ccmatrix("diff", str(changed), str(reference)).returncode == 0  # fail -> pass does not gate


def test_diff_names_a_broken_file(reference, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": "1", "features": [')
    proc = ccmatrix("diff", str(reference), str(broken))
    assert proc.returncode == 2 and str(broken) in proc.stderr


def test_html_from_the_published_matrix(reference, tmp_path):
    out = tmp_path / "page.html"
    proc = ccmatrix("html", str(reference), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert "DeploymentNotFound" in page and "Known issues" in page


def test_litellm_config_uses_real_hosts_and_environment_credentials():
    proc = ccmatrix("litellm-config")
    assert proc.returncode == 0
    assert "127.0.0.1" not in proc.stdout and "localhost" not in proc.stdout
    # the live harness's modes: Bedrock on its API key (nothing in the deployment but the
    # region), Vertex's project and location from the environment, credentials from the metadata server
    assert "aws_access_key_id" not in proc.stdout and "claude-haiku-4-5-bedrock-converse" in proc.stdout
    assert "vertex_ai_location: os.environ/VERTEXAI_LOCATION" in proc.stdout
    keys = ccmatrix("litellm-config", "--credentials", "sigv4,service-account")
    assert "os.environ/AWS_ACCESS_KEY_ID" in keys.stdout and "vertex_credentials: os.environ/VERTEXAI_CREDENTIALS" in keys.stdout
    wrong = ccmatrix("litellm-config", "--credentials", "kerberos")
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: --credentials kerberos: no such credential mode")
    clash = ccmatrix("run", "-p", "bedrock_invoke", "-p", "bedrock_converse", "--credentials", "bedrock_converse=sigv4")
    assert clash.returncode == 2 and "AWS_BEARER_TOKEN_BEDROCK" in clash.stderr, clash.stderr


def test_a_broken_proxy_config_is_a_usage_error(tmp_path):
    config = tmp_path / "litellm.yaml"
    config.write_text("model_list:\n  - model_name: claude-haiku-4-5\n    litellm_params: {}\n")
    proc = ccmatrix("run", "-f", "thinking", "--config", str(config), "--jobs", "1", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert f"{config}: model_list[0].litellm_params.model: missing or not a string" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_a_misspelt_alias_in_a_proxy_config_stops_before_anything_runs(tmp_path):
    """A typo would leave its cells untested and the gate green: one line, exit 2, at once."""
    import time

    config = tmp_path / "litellm.yaml"
    config.write_text(ccmatrix("litellm-config").stdout.replace("claude-sonnet-4-6-bedrock-invoke",
                                                                "claude-sonnet-4-6-bedrock-invok"))
    started = time.monotonic()
    proc = ccmatrix("run", "--config", str(config), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and time.monotonic() - started < 5
    assert "'claude-sonnet-4-6-bedrock-invok' is not a published alias (did you mean " \
           "'claude-sonnet-4-6-bedrock-invoke'?)" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_an_out_folder_that_cannot_be_written_stops_before_anything_runs(tmp_path):
    (tmp_path / "a-file").write_text("")
    for command in (["run"], ["gate", "--base", DEFAULT_LITELLM_VERSION, "--head", DEFAULT_LITELLM_VERSION]):
        proc = ccmatrix(*command, "--out", str(tmp_path / "a-file" / "out"))
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip() == f"error: --out {tmp_path / 'a-file' / 'out'}: {tmp_path / 'a-file'} is a " \
                                      "file, not a folder"


def test_version_and_every_litellm_form_in_help():
    assert ccmatrix("--version").stdout.strip().startswith("ccmatrix ")
    for command in ("run", "gate", "check"):
        text = " ".join(ccmatrix(command, "--help").stdout.split())
        for form in ("RELEASE", "CHECKOUT", "CHECKOUT@REF", "ENV"):
            assert form in text, (command, form)
    listing = ccmatrix("--help").stdout
    assert "The `ccmatrix` command" not in listing and "Offline replay tests" in listing


def test_unknown_client_is_a_usage_error(tmp_path):
    proc = ccmatrix("run", "-f", "thinking", "--client", "browser", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "--client must be one of captured, cli" in proc.stderr


@pytest.mark.proxy
def test_shards_run_apart_and_merge_into_one_matrix(tmp_path):
    """Two runners' worth: `run --shard K/2` each, then `merge` their folders."""
    row = ["-f", "basic_messaging_non_streaming"]
    for k in (1, 2):
        proc = subprocess.run([*CCMATRIX, "run", *row, "--shard", f"{k}/2", "--jobs", "1", "--out", str(tmp_path / f"s{k}")],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert f"shard {k}/2)" in proc.stderr
    shards = [json.loads((tmp_path / f"s{k}" / "compatibility-matrix.json").read_text()) for k in (1, 2)]
    ran = [{p for p, c in s["features"][0]["providers"].items() if "tiers" in c} for s in shards]
    assert ran[0] and ran[1] and not ran[0] & ran[1] and len(ran[0] | ran[1]) == 5
    merged = subprocess.run([*CCMATRIX, "merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out",
                             str(tmp_path / "m")], capture_output=True, text=True, timeout=60)
    assert merged.returncode == 0, merged.stderr[-2000:]
    matrix = json.loads((tmp_path / "m" / "compatibility-matrix.json").read_text())
    assert {p: c["status"] for p, c in matrix["features"][0]["providers"].items()} == {
        p: "pass" for p in ("anthropic", "bedrock_invoke", "bedrock_converse", "vertex_ai", "azure")}
    assert (tmp_path / "m" / "summary.md").is_file() and (tmp_path / "m" / "compatibility-matrix.html").is_file()
    twice = subprocess.run([*CCMATRIX, "merge", str(tmp_path / "s1"), str(tmp_path / "s1")],
                           capture_output=True, text=True, timeout=60)
    assert twice.returncode == 2 and "overlapping shards" in twice.stderr and "Traceback" not in twice.stderr
