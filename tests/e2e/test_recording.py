"""Recording through the addon against the emulator: reproducible and redacted.

One record run of every implemented cell (real LiteLLM, real mitmdump, the
built-in emulator), into a copy of the cassette tree, with credentials whose
values the test knows; the tests below read what it wrote.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from ccmatrix import catalog
from ccmatrix.bundled import CHECKOUT_DIR
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.proxy.credentials import fake_credentials
from ccmatrix.run import runner
from ccmatrix.run.runner import RunOptions

pytestmark = pytest.mark.proxy
SCAN_SECRETS = CHECKOUT_DIR.parent / "shared" / "tools" / "scan-secrets"


# Another machine, as far as the traffic can tell: LiteLLM's process reports another
# Python, requests and google-auth release (the Vertex token exchange's user agent and
# x-goog-api-client), ccmatrix's probe client another httpx. Loaded before LiteLLM's own
# sitecustomize (which it then runs), it writes down what it made the process report.
OTHER_MACHINE_SITE = """
import platform, runpy, sys
platform.python_version = lambda: "3.13.99"
import requests.utils
requests.utils.__version__ = "9.8.7"
try:
    import google.auth.version
    google.auth.version.__version__ = "9.8.7"
except ImportError:
    pass
runpy.run_path({litellm_site!r})
with open({marker!r}, "a") as marker:
    marker.write(platform.python_version() + " " + requests.utils.default_user_agent() + "\\n")
"""
OTHER_HTTPX_AGENT = "python-httpx/9.8.7"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, litellm_env):
    import shutil

    import httpx

    from ccmatrix.proxy.litellm import SITE_DIR

    root = tmp_path_factory.mktemp("rec") / "cassettes"
    shutil.copytree(catalog.DEFAULT_CASSETTE_DIR, root)
    secrets_dir = tmp_path_factory.mktemp("secrets")
    credentials = fake_credentials(secrets_dir)
    site = tmp_path_factory.mktemp("other-machine")
    marker = site / "reported.txt"
    (site / "sitecustomize.py").write_text(OTHER_MACHINE_SITE.format(
        litellm_site=str(SITE_DIR / "sitecustomize.py"), marker=str(marker)))
    environ = {**credentials, "PYTHONPATH": f"{site}:{SITE_DIR}"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx._client, "USER_AGENT", OTHER_HTTPX_AGENT)
        result = runner.execute(catalog.select(), litellm_env, RunOptions(mode="emulate", root=root, environment=environ))
    assert marker.read_text().startswith("3.13.99 python-requests/9.8.7"), "LiteLLM did not load the other machine"
    return root, credentials, result


def _without_timestamp(path: Path):
    document = json.loads(path.read_text())
    document.get("provenance", {}).pop("recorded_at", None)
    return document


def test_rerecording_against_emulator_reproduces_committed_cassettes(recorded):
    """On another machine (other httpx, requests, google-auth and Python versions in the
    client leg and the token exchange), re-recording gives the committed cassettes back."""
    root, _, _ = recorded
    committed = {p.relative_to(catalog.DEFAULT_CASSETTE_DIR) for p in catalog.DEFAULT_CASSETTE_DIR.rglob("*") if p.is_file()}
    rerecorded = {p.relative_to(root) for p in root.rglob("*") if p.is_file()}
    assert rerecorded == committed, {"new": rerecorded - committed, "gone": committed - rerecorded}
    differing = []
    for rel in sorted(committed):
        old, new = catalog.DEFAULT_CASSETTE_DIR / rel, root / rel
        if rel.suffix == ".json" and rel.parts[0] not in ("blobs",):
            if _without_timestamp(old) != _without_timestamp(new):
                differing.append(str(rel))
        elif old.read_bytes() != new.read_bytes():
            differing.append(str(rel))
    assert not differing, f"re-recording changed: {differing[:10]}"


def test_every_cell_recorded_with_its_verdict(recorded):
    root, _, result = recorded
    for cell in catalog.select():
        if cell.not_applicable_reason:
            assert not cell.cassette_path(root, CLAUDE_CODE_VERSION).exists()
            continue
        document = json.loads(cell.cassette_path(root, CLAUDE_CODE_VERSION).read_text())
        assert document["provenance"]["source"] == "emulator"
        assert document["provenance"]["litellm_version"] == result.litellm_version
        assert document["verdict"]["status"] in ("pass", "fail")
        assert document["interactions"], cell.id


def test_no_credential_reaches_a_cassette(recorded):
    """The live harness's credential modes (the default): no key reaches a cassette. The
    other modes' credentials (access keys, an assumed role, a service account) are checked
    in tests/e2e/test_credentials.py."""
    root, credentials, _ = recorded
    text = "\n".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())
    secrets = {
        "anthropic api key": credentials["ANTHROPIC_API_KEY"],
        "bedrock api key": credentials["AWS_BEARER_TOKEN_BEDROCK"],
        "azure api key": credentials["AZURE_AI_API_KEY"],
    }
    leaked = [name for name, value in secrets.items() if value in text]
    assert not leaked, f"credentials in cassettes: {leaked}"
    # no access token but the emulator's own (kept: replay tells a token's origin by them)
    assert not re.search(r"ya29\.(?!ccmatrix-emulator-)", text)
    # ...and they were really there to redact: the traffic carried each kind
    assert '"x-api-key": "<redacted>"' in text
    assert '"authorization": "Bearer <redacted>"' in text


def test_shared_secret_scanner_finds_nothing(recorded):
    root = recorded[0]
    if not SCAN_SECRETS.exists():
        pytest.skip(f"{SCAN_SECRETS} not present beside the checkout")
    proc = subprocess.run([str(SCAN_SECRETS), str(root)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
