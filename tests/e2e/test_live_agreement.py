"""ccmatrix agrees with the published live run of the same release.

The reference snapshot (`../shared/reference/litellm-docs-compatibility-matrix.json`)
is the live run of LiteLLM 1.93.0 with Claude Code 2.1.126. ccmatrix's replay of
1.93.0 must agree with it on at least 58 of its 60 non-Azure cells (issue 9); the
Converse Haiku column fails there the way the live run did, and passes on 1.94.0,
where the live runs pass it too (issue 10). Both replay 2.1.126's tree: agreement is
measured with the requests of the release the live run used.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from ccmatrix.bundled import CHECKOUT_DIR

pytestmark = pytest.mark.proxy
CCMATRIX = [sys.executable, "-m", "ccmatrix"]
REFERENCE = CHECKOUT_DIR.parent / "shared" / "reference" / "litellm-docs-compatibility-matrix.json"
CONVERSE_HAIKU = ["-f", "basic_messaging_streaming", "-p", "bedrock_converse", "-t", "haiku"]
# the Claude Code release of the reference snapshot; one stack (the suite runs on 2 cores)
SNAPSHOT_RELEASE = ["--claude-code", "2.1.126", "--jobs", "1"]


@pytest.mark.skipif(not REFERENCE.is_file(), reason=f"{REFERENCE} is not beside the checkout")
def test_replaying_1_93_0_agrees_with_its_published_live_run(tmp_path):
    run = subprocess.run([*CCMATRIX, "run", "--litellm", "1.93.0", *SNAPSHOT_RELEASE, "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode in (0, 3), run.stderr[-2000:]
    agreement = subprocess.run([*CCMATRIX, "agreement", str(tmp_path / "compatibility-matrix.json"), str(REFERENCE)],
                               capture_output=True, text=True, timeout=60)
    assert agreement.returncode == 0, agreement.stderr
    figure = re.search(r"agreement: (\d+)/(\d+) cells", agreement.stdout)
    assert figure, agreement.stdout
    agreed, judged = int(figure[1]), int(figure[2])
    assert judged >= 58 and agreed >= 58, agreement.stdout  # the 60 non-Azure cells, less what either side left out
    assert "14 live environment fault: the live project has no deployment of the model" in agreement.stdout

    matrix = json.loads((tmp_path / "compatibility-matrix.json").read_text())
    converse = next(f for f in matrix["features"] if f["id"] == "basic_messaging_streaming")["providers"]
    assert converse["bedrock_converse"]["error"] == (
        "[claude-haiku-4-5-bedrock-converse] Claude Code stops: API Error: Content block is not a text block")


def test_the_converse_haiku_column_passes_from_1_94_0(tmp_path):
    run = subprocess.run([*CCMATRIX, "run", "--litellm", "1.94.0", *SNAPSHOT_RELEASE, *CONVERSE_HAIKU, "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    matrix = json.loads((tmp_path / "compatibility-matrix.json").read_text())
    cell = next(f for f in matrix["features"] if f["id"] == "basic_messaging_streaming")["providers"]["bedrock_converse"]
    assert cell["tiers"]["haiku"]["status"] == "pass", cell
