"""The features: the matrix's rows, as data.

Each row says what the published live run does for it (BerriAI/litellm,
`tests/e2e/claude_code/`: the `claude` command line, or a plain-HTTP probe) and what
it counts as a pass, so ccmatrix's verdict means what the live matrix means; and,
beyond it, which upstream fields must reach the provider (load-bearing: a loss fails
the tier) and which wire checks report findings beside the verdict. Adding a row
means adding a `Feature` below and recording it; no test file changes.
docs/rows.md explains each row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ccmatrix.catalog.faults import IDLE_TIMEOUT_ENV, Fault
from ccmatrix.providers import Provider


@dataclass(frozen=True)
class CliRun:
    """How the live harness runs `claude` for a row:

        claude --print --output-format stream-json --verbose --model <alias>
               --session-id <fixed> --no-session-persistence <args> -- <prompt>

    `prompt` may name files the client makes first ("{pdf}": the one-page PDF whose only
    word is PONG); `stdin` names what goes to the CLI's standard input instead of a
    prompt ("vision": one stream-json user event with an inline PNG; "long_context":
    about 840,000 characters of text). `env` is keyed by provider id or "*"."""

    prompt: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    stdin: str | None = None
    timeout: float = 120.0
    # the oldest Claude Code release the row works with, and why (older ones are not run)
    min_claude_code: tuple[str, str] | None = None

    def environment(self, provider: str) -> dict[str, str]:
        return {**self.env.get("*", {}), **self.env.get(provider, {})}


@dataclass(frozen=True)
class Feature:
    id: str
    name: str
    # what the client does: the CLI (`cli`), or a plain-HTTP probe (`probe`: "count_tokens",
    # "tool_search", ccmatrix/client/probes.py), as the live harness does
    cli: CliRun | None = None
    probe: str | None = None
    # the live harness's pass criteria (names in ccmatrix/verdict/criteria.py): what a
    # tier needs, beyond Claude Code not failing
    criteria: tuple[str, ...] = ()
    # wire checks whose problems are findings beside the verdict (ccmatrix/verdict/checks.py)
    checks: tuple[str, ...] = ()
    # load-bearing upstream request fields beyond the provider's base fields (diff path
    # patterns, see ccmatrix.cassette.field_diff), keyed by "*" (every provider), a
    # dialect id ("messages", "converse": where the field sits in that body shape) or a
    # provider id (what only that provider must carry)
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Anthropic betas the row needs to reach the provider: load-bearing wherever the
    # provider carries betas (Provider.beta_fields)
    betas: tuple[str, ...] = ()
    # (provider id or "*", tier id or "*") -> reason the cell tier does not apply
    not_applicable: dict[tuple[str, str], str] = field(default_factory=dict)
    # a fault row: the provider fails the row's first attempts on purpose (emulator only),
    # and the verdict holds what Claude Code got to what the native API gives it
    # (ccmatrix/catalog/faults.py, ccmatrix/verdict/faults.py)
    fault: Fault | None = None

    @property
    def implemented(self) -> bool:
        return self.cli is not None or self.probe is not None

    def load_bearing(self, provider: Provider) -> tuple[str, ...]:
        return (
            provider.base_fields
            + self.fields.get("*", ())
            + self.fields.get(provider.dialect.id, ())
            + self.fields.get(provider.id, ())
            + tuple(path for beta in self.betas for path in provider.beta_paths(beta))
        )

    def not_applicable_reason(self, provider: str, tier: str) -> str | None:
        for key in ((provider, tier), (provider, "*"), ("*", tier), ("*", "*")):
            if key in self.not_applicable:
                return self.not_applicable[key]
        return None


def _fields(messages: tuple[str, ...], converse: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """A row's fields in Anthropic Messages bodies and in Converse bodies."""
    return {"messages": messages, "converse": converse}


_THINKING = _fields(
    ("body.thinking", "body.output_config.effort"),
    ("body.additionalModelRequestFields.thinking", "body.additionalModelRequestFields.output_config.effort"),
)
# the GPT-5.6 columns' Responses API bodies: tools flattened to {type, name, parameters, strict}
_TOOLS = {**_fields(("body.tools", "body.tool_choice"), ("body.toolConfig",)),
          "responses": ("body.tools", "body.tool_choice")}
# a streamed answer on the Responses API is asked for (streaming is opt-in there; LiteLLM
# 1.83.14 called as a library does not ask, and the streamed tool call is lost:
# docs/gpt-columns.md)
_STREAM = {"responses": ("body.stream",)}
_CACHE = _fields(
    ("body.system[*].cache_control", "body.tools[*].cache_control"),
    ("body.system[*].cachePoint", "body.toolConfig.tools[*].cachePoint"),
)

# The live harness's prompts and flags, word for word.
PONG = "Reply with the single word 'pong' and nothing else."
BASH_PONG = ("--allowed-tools", "Bash(echo pong)", "--permission-mode", "dontAsk")
# The structured_outputs row's schema: the CLI gets it with --json-schema, the
# structured_output criterion holds the answer to it.
STRUCTURED_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
    "additionalProperties": False,
}
_SCHEMA_ARG = '{"type":"object","properties":{"answer":{"type":"integer"}},"required":["answer"],"additionalProperties":false}'
ONE_HOUR_CACHE = {"*": {"ENABLE_PROMPT_CACHING_1H": "1"},
                  "bedrock_invoke": {"ENABLE_PROMPT_CACHING_1H_BEDROCK": "1"},
                  "bedrock_converse": {"ENABLE_PROMPT_CACHING_1H_BEDROCK": "1"}}

# what every CLI row reports beside its verdict
_WIRE = ("client_stream_intact", "upstream_content_intact")
_NO_1M_HAIKU = {("*", "haiku"): "Haiku 4.5 has no 1M-token context window (the live harness runs this row "
                                "on Sonnet and Opus only)"}

# Rows in the published order.
FEATURES: tuple[Feature, ...] = (
    Feature(
        id="basic_messaging_non_streaming",
        name="Basic messaging (non-streaming)",
        # as live: the same command as the streaming row minus --include-partial-messages
        cli=CliRun(PONG),
        criteria=("assistant_text",),
        checks=_WIRE,
    ),
    Feature(
        id="basic_messaging_streaming",
        name="Basic messaging (streaming)",
        cli=CliRun("Count from 1 to 5, one number per line.", ("--include-partial-messages",)),
        criteria=("assistant_text", "stream_events"),
        checks=_WIRE,
        fields=_STREAM,
    ),
    Feature(
        id="tool_use",
        name="Tool use",
        cli=CliRun("Use the Bash tool to run the command `echo pong` and report what it printed.", BASH_PONG),
        criteria=("tool_use_block",),
        checks=("tool_use_roundtrip",) + _WIRE,
        fields=_TOOLS,
    ),
    Feature(
        id="prompt_caching_5m",
        name="Prompt caching (5m TTL)",
        # Claude Code puts cache_control on its system prompt by default
        cli=CliRun(PONG),
        criteria=("cache_tokens",),
        checks=("cache_usage",) + _WIRE,
        fields=_CACHE,
    ),
    Feature(
        id="vision",
        name="Vision",
        cli=CliRun(None, ("--input-format", "stream-json"), stdin="vision"),
        criteria=("assistant_text",),
        checks=_WIRE,
    ),
    Feature(
        id="thinking",
        name="Thinking",
        cli=CliRun("I have a 3-gallon jug and a 5-gallon jug. How can I measure exactly 4 gallons of water? "
                   "Think through the steps carefully.", ("--effort", "max")),
        criteria=("thinking_block",),
        checks=("thinking_signed",) + _WIRE,
        fields=_THINKING,
    ),
    Feature(
        id="tool_use_streaming",
        name="Tool use (streaming / fine-grained)",
        cli=CliRun("Use the Bash tool to run the command `echo pong` and report what it printed.",
                   BASH_PONG + ("--include-partial-messages",)),
        criteria=("tool_use_block", "input_json_delta"),
        checks=("tool_use_roundtrip",) + _WIRE,
        fields={**_TOOLS, "responses": _TOOLS["responses"] + _STREAM["responses"]},
    ),
    Feature(
        id="thinking_with_tool_use",
        name="Extended thinking + tool use",
        cli=CliRun("Think step by step about why the command `echo pong` prints just the word 'pong'. Then use "
                   "the Bash tool to run exactly the command `echo pong` and report what it printed.",
                   ("--effort", "max") + BASH_PONG),
        criteria=("thinking_block", "tool_use_block"),
        checks=("thinking_signed", "tool_use_roundtrip") + _WIRE,
        fields={dialect: _THINKING[dialect] + _TOOLS[dialect] for dialect in _THINKING},
    ),
    Feature(
        id="pdf_input",
        name="PDF document input",
        cli=CliRun("Use the Read tool to read the file at {pdf}. Report the single word that appears in the "
                   "document.", ("--allowed-tools", "Read")),
        criteria=("pdf_marker",),
        checks=("tool_use_roundtrip",) + _WIRE,
    ),
    Feature(
        id="prompt_caching_1h",
        name="Prompt caching (1h TTL)",
        cli=CliRun(PONG, env=ONE_HOUR_CACHE),
        criteria=("cache_tokens",),
        checks=("cache_usage",) + _WIRE,
        fields=_CACHE,
    ),
    Feature(
        id="web_search",
        name="Web search (server tool)",
        cli=CliRun("Use web search to find a news headline published this week about Anthropic. Reply with one "
                   "sentence summarizing what you found.", ("--allowed-tools", "WebSearch")),
        criteria=("websearch_tool_use",),
        checks=("web_search_results",) + _WIRE,
        fields=_TOOLS,
    ),
    Feature(
        id="structured_outputs",
        name="Structured outputs",
        cli=CliRun("What is 2 + 2? Reply only via the structured output.", ("--json-schema", _SCHEMA_ARG)),
        criteria=("structured_output",),
        checks=_WIRE,
        fields=_TOOLS,
    ),
    Feature(
        id="count_tokens",
        name="count_tokens endpoint",
        probe="count_tokens",
        criteria=("probe",),
    ),
    Feature(
        id="tool_search",
        name="Tool search (MCP discovery)",
        probe="tool_search",
        criteria=("probe",),
        checks=("upstream_content_intact",),
        fields=_fields(("body.tools[*].type", "body.tools[*].name"), ("body.toolConfig",)),
    ),
    Feature(
        id="long_context_1m",
        name="Long context (1M)",
        cli=CliRun(None, ("--betas", "context-1m-2025-08-07", "--max-budget-usd", "6"), stdin="long_context",
                   timeout=300.0),
        criteria=("assistant_text",),
        checks=_WIRE,
        betas=("context-1m-2025-08-07",),
        not_applicable=_NO_1M_HAIKU,
    ),
)


def _fault_row(kind: str, name: str, env: Mapping[str, Mapping[str, str]] | None = None,
               min_claude_code: tuple[str, str] | None = None) -> Feature:
    fault = Fault(kind)  # type: ignore[arg-type]
    directive = fault.directive.replace("{", "{{").replace("}", "}}")  # the prompt is a format string
    cli = CliRun(f"{PONG}\n{directive}", env=env or {}, min_claude_code=min_claude_code)
    return Feature(id=f"fault_{kind}", name=name, cli=cli,
                   criteria=("assistant_text",), checks=_WIRE, fault=fault)


# Rows beyond the published fifteen: the provider fails on purpose, once, and Claude Code
# must get what the native API would give it (docs/faults.md). Kept apart in every report.
FAULT_FEATURES: tuple[Feature, ...] = (
    _fault_row("rate_limited", "Provider rate limit (clears on retry)"),
    _fault_row("overloaded", "Provider overloaded (clears on retry)"),
    _fault_row("stream_error", "Provider error mid-stream (clears on retry)"),
    _fault_row("stream_cut", "Provider stream cut mid-way (clears on retry)"),
    # Claude Code's byte-level stream watchdog at its floor (10 s), so a stall costs
    # seconds, not the default three minutes; the captured client keeps the same bound.
    # 2.1.126 has no such setting: its stream watchdog waits at least 300 s (its code:
    # max(CLAUDE_STREAM_IDLE_TIMEOUT_MS, 300000)). 2.1.228 has it (10 s .. 30 min), but once
    # its watchdog fires it ends the run instead of asking again without streaming (its
    # code: the flag tengu_watchdog_skip_nonstreaming_fallback, default on; 2.1.332: off),
    # so it fails the row whatever the proxy does (recorded: docs/claude-code-versions.md).
    _fault_row("stream_stall", "Provider stream stalls mid-way (clears on retry)",
               env={"*": {IDLE_TIMEOUT_ENV: "10000", "CLAUDE_ENABLE_BYTE_WATCHDOG": "1"}},
               min_claude_code=("2.1.332", "before then it does not get past a stalled stream in seconds: "
                                           "2.1.126's watchdog cannot be set below 300 s, 2.1.228's ends the "
                                           "run without the non-streaming retry")),
)

# Older layouts of the published matrix used other ids for some rows.
FEATURE_ALIASES = {"extended_thinking": "thinking"}
