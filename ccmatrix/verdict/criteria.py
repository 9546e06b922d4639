"""The live harness's pass criteria, one named function each (a row lists its names).

Each takes what the client ended up with (`ClientOutcome`, whichever client ran) and
returns the harness's own error text, or None; `unmet` makes those texts failures
named by their criterion. They are the published matrix's
criteria (BerriAI/litellm `tests/e2e/claude_code/`, one test file per row) and no
stricter: what ccmatrix sees beyond them on the wire is a finding (checks.py).
"""

from __future__ import annotations

from typing import Any, Callable

from ccmatrix.catalog.features import STRUCTURED_OUTPUT_SCHEMA
from ccmatrix.client.inputs import PDF_MARKER
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.verdict.results import Failure

Criterion = Callable[[ClientOutcome], "str | None"]


def assistant_text(outcome: ClientOutcome) -> str | None:
    return None if outcome.text.strip() else "claude returned empty assistant text"


def stream_events(outcome: ClientOutcome) -> str | None:
    if outcome.stream_events >= 2:
        return None
    return (f"only {outcome.stream_events} stream_event records observed (< 2); proxy likely buffered the "
            "upstream response instead of streaming it")


def tool_use_block(outcome: ClientOutcome) -> str | None:
    return None if outcome.blocks_of("tool_use") else "no tool_use content block observed in stream-json events"


def input_json_delta(outcome: ClientOutcome) -> str | None:
    if outcome.input_json_deltas:
        return None
    return ("no input_json_delta stream events observed; proxy likely buffered the tool input into a complete "
            "block or stripped fine-grained tool streaming")


def thinking_block(outcome: ClientOutcome) -> str | None:
    return None if outcome.blocks_of("thinking") else "no `thinking` content block observed in stream-json events"


def cache_tokens(outcome: ClientOutcome) -> str | None:
    usage = outcome.usage
    total = sum(v for k in ("cache_creation_input_tokens", "cache_read_input_tokens")
                if isinstance(v := usage.get(k), int) and not isinstance(v, bool))
    if total > 0:
        return None
    return ("usage block reported zero cache tokens; expected cache_control on the system prompt to produce a "
            "non-zero cache_creation_input_tokens or cache_read_input_tokens")


def pdf_marker(outcome: ClientOutcome) -> str | None:
    if PDF_MARKER in outcome.text.upper():
        return None
    return f"reply did not reference the PDF marker {PDF_MARKER!r}; got: {outcome.text.strip()[:200]!r}"


def websearch_tool_use(outcome: ClientOutcome) -> str | None:
    if any(b.get("name") == "WebSearch" for b in outcome.blocks_of("tool_use")):
        return None
    return ("no `tool_use` block with name=WebSearch observed; the proxy may have stripped the WebSearch tool "
            "or the model did not call it")


_TYPES: dict[str, Callable[[Any], bool]] = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def structured_output(outcome: ClientOutcome) -> str | None:
    data = outcome.structured_output
    if not isinstance(data, dict):
        return f"no `structured_output` in trailing result event; got {data!r:.200}"
    for key in STRUCTURED_OUTPUT_SCHEMA["required"]:
        if key not in data:
            return f"structured_output shape error: missing required key {key!r}; payload={data!r:.200}"
        kind = STRUCTURED_OUTPUT_SCHEMA["properties"][key].get("type")
        if kind in _TYPES and not _TYPES[kind](data[key]):
            return f"structured_output shape error: {key!r} is not {kind}; payload={data!r:.200}"
    return None


def probe(outcome: ClientOutcome) -> str | None:
    if outcome.probe is None:
        return "the row's probe did not run"
    return outcome.probe.problem()


CRITERIA: dict[str, Criterion] = {
    "assistant_text": assistant_text,
    "stream_events": stream_events,
    "tool_use_block": tool_use_block,
    "input_json_delta": input_json_delta,
    "thinking_block": thinking_block,
    "cache_tokens": cache_tokens,
    "pdf_marker": pdf_marker,
    "websearch_tool_use": websearch_tool_use,
    "structured_output": structured_output,
    "probe": probe,
}


def unmet(names: tuple[str, ...], outcome: ClientOutcome) -> list[Failure]:
    """The row's criteria the outcome does not meet, in the row's order, each named (`field`)."""
    return [Failure(kind="criteria-unmet", message=problem, field=name)
            for name in names if (problem := CRITERIA[name](outcome)) is not None]
