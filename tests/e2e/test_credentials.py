"""Credential modes through the real LiteLLM, recorded against the emulator.

Each mode's own path in LiteLLM (a Bedrock API key, SigV4 access keys, an assumed role
through STS, a service-account key file, the GCE metadata server at the global
endpoint) is set up as the mode says and must work end to end; and a LiteLLM set up
for one mode while the recorder holds its requests to another must fail, naming the
mode the request broke, for every mode that can be told apart on the wire.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from ccmatrix import catalog
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.providers import choose
from ccmatrix.proxy import litellm_config
from ccmatrix.proxy.credentials import fake_credentials
from ccmatrix.run import runner
from ccmatrix.run.runner import RunOptions

pytestmark = pytest.mark.proxy

CELLS = [catalog.CellTier.parse(f"basic_messaging_non_streaming/{p}/haiku")
         for p in ("bedrock_invoke", "bedrock_converse", "vertex_ai")] + \
    [catalog.CellTier.parse("basic_messaging_non_streaming/azure_openai/sol")]
# every mode of the providers that have more than one, other than the default
OTHER_MODES = ["bedrock_invoke=sigv4", "bedrock_converse=assumed-role", "vertex_ai=service-account",
               "azure_openai=entra-id"]


def _tree(tmp_path: Path) -> Path:
    """The three cells' cassettes (their client legs) and the shared blobs, to record into."""
    root = tmp_path / "cassettes"
    shutil.copytree(catalog.DEFAULT_CASSETTE_DIR / "blobs", root / "blobs")
    for cell in CELLS:
        source = cell.cassette_path(catalog.DEFAULT_CASSETTE_DIR, CLAUDE_CODE_VERSION)
        target = cell.cassette_path(root, CLAUDE_CODE_VERSION)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    return root


def _record(tmp_path: Path, litellm_env, litellm_modes: list[str], held_to: list[str]):  # type: ignore[no-untyped-def]
    """Record CELLS with LiteLLM set up for `litellm_modes`, the recorder holding each
    request to `held_to`; the tier results, by provider, the tree and the credentials."""
    root = _tree(tmp_path)
    set_up, held = choose(litellm_modes, catalog.ALL_PROVIDERS), choose(held_to, catalog.ALL_PROVIDERS)
    providers = [cell.provider for cell in CELLS]
    workdir = tmp_path / "work"
    workdir.mkdir()
    credentials = fake_credentials(workdir, choice=set_up, among=providers)
    options = RunOptions(mode="emulate", root=root, environment=credentials, credentials=held)
    with runner.StackRun(runner.plan(CELLS, options), litellm_env, options,
                         proxy_config=litellm_config.default_config(providers, set_up)) as on_stack:
        results = {cell.provider.id: on_stack.run(cell) for cell in CELLS}
    return results, root, credentials


def test_every_other_mode_works_through_litellm(tmp_path, litellm_env):
    results, root, credentials = _record(tmp_path, litellm_env, OTHER_MODES, OTHER_MODES)
    assert {p: r.status for p, r in results.items()} == dict.fromkeys(results, "pass"), \
        {p: r.error for p, r in results.items()}
    # the assumed role's session credentials came from the emulator's STS ...
    sts = json.loads((root / "auth" / "aws_sts.json").read_text())
    actions = {i["request"]["body"]["form"]["Action"]: i["response"] for i in sts["interactions"]}
    assert set(actions) == {"GetCallerIdentity", "AssumeRole"}  # who the keys are, then the role
    assert actions["AssumeRole"]["status"] == 200
    assert "<AccessKeyId>ASIACCMX" in actions["AssumeRole"]["body"]["text"]
    # ... and the service account traded its JWT at the token endpoint; the cassettes say which mode
    token = json.loads((root / "auth" / "google_oauth2_token.json").read_text())
    assert token["interactions"][0]["request"]["url"] == "https://oauth2.googleapis.com/token"
    # ... and the service principal's secret was traded with Entra ID (MSAL reads the
    # tenant's OpenID configuration first), the secret redacted
    entra = json.loads((root / "auth" / "entra_token.json").read_text())
    assert [(i["request"]["method"], i["request"]["url"].rsplit("/", 2)[-1]) for i in entra["interactions"]] == [
        ("GET", "openid-configuration"), ("POST", "token")]
    assert entra["interactions"][1]["request"]["body"]["form"]["client_secret"] == "<redacted>"
    for cell, mode in zip(CELLS, ("sigv4", "assumed-role", "service-account", "entra-id")):
        document = json.loads(cell.cassette_path(root, CLAUDE_CODE_VERSION).read_text())
        assert document["provenance"]["credentials"] == mode
    vertex = json.loads(CELLS[2].cassette_path(root, CLAUDE_CODE_VERSION).read_text())
    assert vertex["interactions"][0]["request"]["url"].startswith(
        "https://us-east5-aiplatform.googleapis.com/v1/projects/ccmatrix-project/locations/us-east5/")
    # none of these modes' credentials reached a cassette; what the run made of them is redacted
    text = "\n".join(p.read_text(errors="replace") for p in root.rglob("*.json"))
    key_file = json.loads(Path(credentials["VERTEXAI_CREDENTIALS"]).read_text())
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert credentials[name] not in text, name
    assert key_file["private_key"].splitlines()[1] not in text
    assert not re.search(r"Signature=[0-9a-f]{64}|\beyJ[A-Za-z0-9_\-]{10,}\.eyJ", text)
    for redacted in ("AWS4-HMAC-SHA256 Credential=<redacted>", '"x-amz-security-token": "<redacted>"',
                     '"assertion": "<redacted>"'):
        assert redacted in text, redacted


def test_a_request_that_does_not_carry_its_modes_authentication_fails_naming_the_mode(tmp_path, litellm_env):
    # LiteLLM on the live harness's modes (a Bedrock API key, the metadata server), the
    # recorder expecting the others: each provider's request is refused, naming the mode
    results, _, _ = _record(tmp_path, litellm_env, [], OTHER_MODES)
    errors = {p: r.error or "" for p, r in results.items()}
    assert {p: r.status for p, r in results.items()} == dict.fromkeys(results, "fail"), errors
    assert "bedrock_invoke.credentials.sigv4" in errors["bedrock_invoke"]
    assert "it carried a bearer token" in errors["bedrock_invoke"]
    assert "bedrock_converse.credentials.assumed-role" in errors["bedrock_converse"]
    assert "vertex_ai.credentials.service-account" in errors["vertex_ai"]
    assert "azure_openai.credentials.entra-id" in errors["azure_openai"]


def test_the_reverse_mismatch_fails_too(tmp_path, litellm_env):
    # LiteLLM signing with access keys, an assumed role's and a service account's token;
    # the recorder expecting the live harness's modes
    results, _, _ = _record(tmp_path, litellm_env, OTHER_MODES, ["bedrock_converse=sigv4"])
    errors = {p: r.error or "" for p, r in results.items()}
    assert results["bedrock_invoke"].status == "fail", errors
    assert "bedrock_invoke.credentials.api-key" in errors["bedrock_invoke"]
    assert "SigV4-signed" in errors["bedrock_invoke"]
    # an assumed role's request is a SigV4 request: the sigv4 mode (keys, a session token allowed) takes it
    assert results["bedrock_converse"].status == "pass", errors
    assert results["vertex_ai"].status == "fail", errors
    assert "vertex_ai.credentials.metadata-server" in errors["vertex_ai"]
    assert results["azure_openai"].status == "fail", errors  # a bearer token where the api-key header belongs
    assert "azure_openai.credentials.api-key" in errors["azure_openai"]


def test_the_bundled_cassettes_replay_under_every_other_mode_and_say_so(litellm_env):
    """Recorded under the live harness's modes, replayed under the others: the token
    endpoints those need (STS, the key file's token exchange) are in cassettes/auth/, the
    Vertex location and the authentication are the mode's to judge, and each tier says
    what it was recorded under."""
    result = runner.execute(CELLS, litellm_env, RunOptions(credentials=choose(OTHER_MODES, catalog.ALL_PROVIDERS)))
    tiers = [t for cell in result.cells() for t in cell.tiers]
    assert [t.status for t in tiers] == ["pass"] * 4, [t.error for t in tiers]
    for tier in tiers:
        said = [f.message for f in tier.findings if f.kind == "credentials-replayed"]
        assert said and f"recorded with {tier.provider}'s " in said[0], tier.findings
    assert result.credentials["vertex_ai"] == {
        "mode": "service-account", "location": "us-east5",
        "summary": catalog.provider("vertex_ai").credential_mode("service-account").summary}
