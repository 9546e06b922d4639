"""`ccmatrix export` end to end (issue 24): a red cell's traffic as a LiteLLM unit test,
run in two cached LiteLLM releases' own environments: it fails on the release where the
cell is red, naming the field ccmatrix names, and passes where it is green. No proxy,
no mitmdump, no network."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from ccmatrix import catalog
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.export import export_cell
from ccmatrix.proxy.litellm_env import resolve

pytestmark = pytest.mark.proxy
CCMATRIX = [sys.executable, "-m", "ccmatrix"]
REGRESSED = "1.83.14"  # strips output_config.effort on Bedrock Invoke, Converse and Vertex (docs/red-cells.md)


@pytest.fixture(scope="module")
def test_tools(tmp_path_factory) -> Path:
    """pytest and respx for a LiteLLM environment, which has neither (a LiteLLM checkout's
    dev environment has both): this environment's own packages, on PYTHONPATH; the rest
    (httpx, PyYAML) is LiteLLM's."""
    tools = tmp_path_factory.mktemp("tools")
    for name in ("pytest", "_pytest", "pluggy", "iniconfig", "respx", "py"):
        module = importlib.import_module(name)
        source = Path(module.__file__)
        source = source.parent if source.name == "__init__.py" else source
        (tools / source.name).symlink_to(source)
    return tools


def _run_exported(folders: list[Path], release: str | None, tools: Path) -> dict[str, str | None]:
    """Each exported test's outcome by its name: None if it passed, else its failure report.
    Read from pytest's JUnit XML, not its terminal: LiteLLM prints to stdout from threads."""
    home = folders[0].parent
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "PYTHONPATH": str(tools), "LANG": "C.UTF-8"}
    junit = home / f"junit-{release or 'default'}.xml"
    done = subprocess.run([str(resolve(release).python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"--junitxml={junit}", *map(str, folders)], capture_output=True, text=True, timeout=120,
                          env=env, cwd=home)
    assert done.returncode in (0, 1) and junit.exists(), done.stdout[-3000:] + done.stderr[-2000:]
    outcomes = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        failed = next((element for element in case if element.tag in ("failure", "error")), None)
        outcomes[case.get("name")] = None if failed is None else f"{failed.get('message')}\n{failed.text}"
    return outcomes


def _flat(cell: str) -> str:
    """A cell tier as the export names its folder and test: thinking_bedrock_invoke_opus."""
    return cell.replace("/", "_")


# A streaming cell a provider, each red on 1.83.14 by the effort it loses, green on the
# default; Converse stays red up to 1.97.0 (docs/red-cells.md, "On LiteLLM 1.83.14").
LOST_EFFORT = {
    "thinking/bedrock_invoke/opus": "body.output_config.effort missing (recorded 'max')",
    "thinking/vertex_ai/opus": "body.output_config.effort missing (recorded 'max')",
    "thinking/bedrock_converse/opus": "body.additionalModelRequestFields.output_config.effort missing (recorded 'max')",
}

# Red on 1.83.14 because LiteLLM cannot read the recorded answer: it asks OpenAI's
# Responses API for no stream (docs/gpt-columns.md) and raises on the recorded stream.
# The lost field comes first in the report, before LiteLLM's raising it causes.
RAISES_ON_A_LOST_FIELD = {"tool_use_streaming/openai/sol": "body.stream missing (recorded True)"}
# Lost inside the conversation, a load-bearing leaf as the replay holds it: Converse's 1h
# cache point on Claude Code's first message (docs/ci.md, "Reading a red cell")
LOST_IN_THE_CONVERSATION = {
    "prompt_caching_1h/bedrock_converse/opus": "body.messages[0].content[9].cachePoint.ttl missing (recorded '1h')"}
RED = {**LOST_EFFORT, **RAISES_ON_A_LOST_FIELD, **LOST_IN_THE_CONVERSATION}

# Green on the default as ccmatrix judges them, each for a part of the proxy's way the
# exported test keeps: the provider's refusal in the recording (LiteLLM 1.110.2 puts
# tool_choice in Converse's inferenceConfig on Claude Code's web search turn, a finding
# beside the passing cell, docs/red-cells.md) and LiteLLM's own (no web search on Bedrock
# Invoke), each an error answer as the proxy gives one; the 1M-context beta, which only
# Claude Code's anthropic-beta header carries (the proxy passes it on); a cache point
# after Claude Code's billing line, which the comparison leaves out as ccmatrix does.
GREEN_AS_JUDGED = ["web_search/bedrock_converse/haiku", "web_search/bedrock_invoke/sonnet",
                   "long_context_1m/bedrock_invoke/sonnet", "prompt_caching_1h/bedrock_converse/haiku"]
# Changed on 1.83.14, not red, as ccmatrix's run judges it ("new conversation"): that release
# sends the WebSearch tool's own request to Bedrock Invoke, which the default refuses itself,
# so the recording has no counterpart for it. The exported test answers it as the replay does
# and warns of it, and pairs the conversation's next turn with its own recording, not with
# that request (which read as some 240 lost tool fields).
CHANGED_ON_THE_RED_RELEASE = "web_search/bedrock_invoke/sonnet"


def test_exported_red_cells_fail_on_the_red_release_naming_the_field_and_pass_on_the_default(tmp_path, test_tools):
    """Exported one by one, run together, as a maintainer drops them into LiteLLM's tests:
    each test keeps its credentials and stand-ins to itself."""
    folders = []
    for cell in LOST_EFFORT:  # as a maintainer does
        out = tmp_path / _flat(cell)
        exported = subprocess.run([*CCMATRIX, "export", cell, "--to", str(out)], capture_output=True, text=True,
                                  timeout=60)
        assert exported.returncode == 0, exported.stderr
        assert sorted(p.name for p in out.iterdir()) == [
            "client_leg.json", "expected.json", "provider_leg.yaml", f"test_{_flat(cell)}.py"]
        folders.append(out)
    for cell in [*RAISES_ON_A_LOST_FIELD, *LOST_IN_THE_CONVERSATION, *GREEN_AS_JUDGED]:  # in-process: seconds saved
        folders.append(tmp_path / _flat(cell))
        export_cell(catalog.CellTier.parse(cell), catalog.DEFAULT_CASSETTE_DIR, CLAUDE_CODE_VERSION, folders[-1])
    changed = tmp_path / _flat(CHANGED_ON_THE_RED_RELEASE)  # exported above, among GREEN_AS_JUDGED
    red = _run_exported([*folders[:len(RED)], changed], REGRESSED, test_tools)
    assert red.keys() == {f"test_{_flat(cell)}" for cell in [*RED, CHANGED_ON_THE_RED_RELEASE]}, red
    assert red.pop(f"test_{changed.name}") is None
    for cell, field in RED.items():
        report = red[f"test_{_flat(cell)}"]
        assert report is not None and field in report, report
    for cell, field in RAISES_ON_A_LOST_FIELD.items():
        report = red[f"test_{_flat(cell)}"]
        assert report.startswith(f"AssertionError: {field}"), report
    green = _run_exported(folders, None, test_tools)
    assert len(green) == len(folders) and all(report is None for report in green.values()), green


def test_export_with_litellm_takes_the_providers_answers_from_a_run_through_it(tmp_path):
    """--litellm: the provider leg is what LiteLLM 1.83.14 sent (Claude Code's recorded
    requests again, the emulator answering): no output_config in its requests; the
    expectations stay the cassette's (effort 'max')."""
    import json

    import yaml

    out = tmp_path / "repro"
    exported = subprocess.run([*CCMATRIX, "export", "thinking/vertex_ai/opus", "--litellm", REGRESSED, "--to", str(out)],
                              capture_output=True, text=True, timeout=300)
    assert exported.returncode == 0, exported.stderr[-3000:]
    (request,) = json.loads((out / "expected.json").read_text())["requests"]
    assert request["fields"]["body.output_config.effort"] == "max"
    sent = [json.loads(i["request"]["body"]) for i in yaml.safe_load((out / "provider_leg.yaml").read_text())["interactions"]]
    assert sent and all("output_config" not in body for body in sent)
