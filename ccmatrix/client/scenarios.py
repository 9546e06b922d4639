"""The scenarios: how the pinned Claude Code CLI is made to produce each row's traffic.

A scenario names the prompt, CLI flags, environment and workspace files that
trigger a row, and which captured requests belong to it. The emulator is scripted
by a `ccmatrix-directive:` line in the prompt (which tool to call). Plain-HTTP
probes of the live harness (count_tokens, tool search's server tool) are derived
from the CLI's own captured requests.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ccmatrix.catalog import STRUCTURED_OUTPUT_SCHEMA
from ccmatrix.client.capture_format import ClientTurn


@dataclass(frozen=True)
class Scenario:
    """How to make the CLI produce one row's traffic, and which requests are the row."""

    id: str
    prompt: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    # appended to the tier's alias for --model, e.g. "[1m]" for the 1M-context beta
    model_suffix: str = ""
    # break every streamed answer, so the CLI falls back to a non-streaming request
    break_streams: bool = False
    # which captured requests belong to the scenario (others: side requests such as
    # the CLI's quota probe or title generation). Default: the tier's model, streaming.
    keep: Callable[[dict[str, Any], str], bool] = lambda body, model: body.get("model") == model and bool(body.get("stream"))
    # files the CLI's Read tool is pointed at, made in its working directory
    workspace: tuple[str, ...] = ()
    # give the CLI ccmatrix's stub MCP server (ccmatrix/mcp_stub.py)
    mcp: bool = False
    # turns the live harness sends as plain HTTP probes, derived from the CLI's own
    # captured requests (so they carry Claude Code's real system prompt and tools)
    probes: tuple[str, ...] = ()
    # the CLI's requests are only the material for the probes (count_tokens)
    probes_only: bool = False


def directive(**steps: Any) -> str:
    """The line that scripts the emulator's replies (see ccmatrix/emulator/plan.py)."""
    return "ccmatrix-directive: " + json.dumps(steps, separators=(",", ":"))


_BASIC = "Reply with one short sentence about tea."
WORKDIR = Path(tempfile.gettempdir()) / "ccmatrix-capture" / "work"
_ECHO = {"tool_use": {"name": "Bash", "input": {"command": "echo ccmatrix-tool-use", "description": "Print a marker"}}}
# the structured_outputs row's schema is catalog data: its check reads the same one
JSON_SCHEMA = json.dumps(STRUCTURED_OUTPUT_SCHEMA, separators=(",", ":"))

SCENARIOS: dict[str, Scenario] = {
    s.id: s
    for s in (
        Scenario("basic_messaging_streaming", _BASIC),
        Scenario("basic_messaging_non_streaming", _BASIC, break_streams=True,
                 keep=lambda body, model: body.get("model") == model and not body.get("stream")),
        Scenario("tool_use", "Run the shell command `echo ccmatrix-tool-use` and tell me what it printed.\n"
                 + directive(**_ECHO), args=("--allowedTools", "Bash")),
        Scenario("thinking", "Think it through, then answer: what is 17 * 23?", args=("--effort", "max")),
        Scenario("thinking_with_tool_use", "Think first, then run `echo ccmatrix-tool-use` and report the output.\n"
                 + directive(**_ECHO), args=("--allowedTools", "Bash", "--effort", "high")),
        Scenario("vision", "Describe the image ccmatrix-test.png in this folder in one sentence.\n"
                 + directive(tool_use={"name": "Read", "input": {"file_path": str(WORKDIR / "ccmatrix-test.png")}}),
                 args=("--allowedTools", "Read"), workspace=("ccmatrix-test.png",)),
        Scenario("pdf_input", "Summarize the PDF ccmatrix-test.pdf in this folder in one sentence.\n"
                 + directive(tool_use={"name": "Read", "input": {"file_path": str(WORKDIR / "ccmatrix-test.pdf")}}),
                 args=("--allowedTools", "Read"), workspace=("ccmatrix-test.pdf",)),
        Scenario("prompt_caching_1h", _BASIC, env={"ENABLE_PROMPT_CACHING_1H": "1"}),
        Scenario("web_search", "Search the web for the ccmatrix compatibility matrix and summarize one result.\n"
                 + directive(tool_use={"name": "WebSearch", "input": {"query": "ccmatrix compatibility matrix"}}),
                 args=("--allowedTools", "WebSearch"),
                 # the WebSearch tool runs as a nested request that carries the server tool
                 keep=lambda body, model: bool(body.get("stream")) and body.get("model") in (model, "claude-haiku-4-5")),
        Scenario("structured_outputs", "Name one large city and its population.", args=("--json-schema", JSON_SCHEMA)),
        Scenario("long_context_1m", _BASIC, model_suffix="[1m]"),
        Scenario("count_tokens", _BASIC, probes=("count_tokens",), probes_only=True),
        Scenario("tool_search", "Find a tool that can look up the weather, then say which one you found.\n"
                 + directive(tool_use={"name": "ToolSearch",
                                       "input": {"query": "select:mcp__ccmatrix__ccmatrix_weather_lookup", "max_results": 5}}),
                 args=("--allowedTools", "ToolSearch"), mcp=True,
                 # the CLI only enables tool search on first-party hosts unless told to
                 env={"ENABLE_TOOL_SEARCH": "true"}, probes=("tool_search",)),
    )
}

TOOL_SEARCH_BETA = "advanced-tool-use-2025-11-20"


def _count_tokens_probe(turns: list[ClientTurn]) -> ClientTurn:
    """What Claude Code sends to size its context: /v1/messages/count_tokens."""
    body = {k: turns[0].body[k] for k in ("model", "messages", "system", "tools") if k in turns[0].body}
    return ClientTurn(method="POST", path="/v1/messages/count_tokens?beta=true", headers=turns[0].headers, body=body)


def _tool_search_probe(turns: list[ClientTurn]) -> ClientTurn:
    """The live harness's plain-HTTP probe: the server-side regex tool search tool
    over deferred tools (the CLI's own turns use its client-side ToolSearch)."""
    last = turns[-1].body
    deferred = [t for t in last.get("tools", []) if t.get("defer_loading")]
    betas = turns[-1].headers.get("anthropic-beta", "")
    headers = {**turns[-1].headers, "anthropic-beta": betas if TOOL_SEARCH_BETA in betas else f"{betas},{TOOL_SEARCH_BETA}"}
    body = {
        "model": last["model"],
        "max_tokens": 1024,
        "stream": True,
        "tools": [{"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"}, *deferred],
        "messages": [{"role": "user", "content": "Which tool can look up the weather? Search for it."}],
    }
    return ClientTurn(method="POST", path="/v1/messages?beta=true", headers=headers, body=body)


PROBES: dict[str, Callable[[list[ClientTurn]], ClientTurn]] = {
    "count_tokens": _count_tokens_probe,
    "tool_search": _tool_search_probe,
}
