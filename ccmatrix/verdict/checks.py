"""Wire checks: what ccmatrix sees on the wire that Claude Code tolerates.

Each check is a function named in a row's `checks`; it looks at LiteLLM's answers to
the client (the client leg, assembled as Claude Code assembles them) beside what the
provider sent (the provider leg) and returns problems. Problems are *findings*:
reported with the verdict, never a failure on their own (only --strict fails them),
because the verdict means what the live matrix means: does Claude Code work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from ccmatrix.wire.messages import AssistantMessage

Severity = Literal["info", "warning", "high"]

# The evidence for the repeated-fragment finding: LiteLLM's own comment on the pattern
# (llms/anthropic/pass_through/adapters/streaming_iterator.py, 1.108.7: "The block
# opener seeds a thinking_blocks start body with the full thinking text while the delta
# re-emits it, so SSE accumulators would collect it twice") and the Anthropic SDK's
# accumulator, which does collect it twice; Claude Code 2.1.126 does not (docs/red-cells.md).
REPEATED_FRAGMENT_EVIDENCE = (
    "https://github.com/BerriAI/litellm/blob/main/litellm/llms/anthropic/pass_through/adapters/streaming_iterator.py",
    "https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/lib/streaming/_messages.py",
)


@dataclass(frozen=True)
class Problem:
    severity: Severity
    message: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClientAnswer:
    """One of LiteLLM's answers to the client, as Claude Code assembled it."""

    turn: int
    content_type: str
    message: AssistantMessage

    @property
    def streamed(self) -> bool:
        return self.content_type.startswith("text/event-stream")


Check = Callable[[list[ClientAnswer], list[AssistantMessage]], list[Problem]]


def client_stream_intact(answers: list[ClientAnswer], upstream: list[AssistantMessage]) -> list[Problem]:
    """The client's streams are well-formed Anthropic SSE, and no block's text arrives twice."""
    problems = []
    for answer in answers:
        m = answer.message
        problems += [Problem("warning", f"turn {answer.turn}: {p}") for p in m.stream_problems]
        for index, text in sorted(m.start_text.items()):
            block = m.content[index] if index < len(m.content) else {}
            body = block.get("text") or block.get("thinking") or ""
            repeated = body.startswith(text)
            problems.append(Problem(
                "warning",
                f"turn {answer.turn}: content_block_start {index} ({block.get('type')}) already carries "
                f"{text[:40]!r}" + (", which the deltas repeat" if repeated else "") + ": Claude Code takes the "
                "deltas only, a client that accumulates as the Anthropic SDK does gets "
                + ("the fragment twice" if repeated else "extra text"),
                REPEATED_FRAGMENT_EVIDENCE))
    return problems


def upstream_content_intact(answers: list[ClientAnswer], upstream: list[AssistantMessage]) -> list[Problem]:
    """What the provider sent reached the client: text, thinking, tool calls, stop reason, usage."""
    problems = []
    for answer, sent in zip(answers, upstream):
        got = answer.message
        where = f"turn {answer.turn}"
        if got.text != sent.text:
            problems.append(Problem("high", f"{where}: text: provider sent {_short(sent.text)}, client got {_short(got.text)}"))
        for kind in ("thinking", "redacted_thinking", "tool_use", "server_tool_use", "web_search_tool_result"):
            if sent.opaque_reasoning and kind in ("thinking", "redacted_thinking"):
                continue
            want = [b for b in sent.content if b.get("type") == kind]
            have = [b for b in got.content if b.get("type") == kind]
            problems += [Problem("high", f"{where}: {p}") for p in _block_differences(kind, want, have)]
        if sent.stop_reason != got.stop_reason:
            problems.append(Problem("high", f"{where}: stop_reason: provider sent {sent.stop_reason!r}, "
                                            f"client got {got.stop_reason!r}"))
        for key in ("input_tokens", "output_tokens"):
            if key in sent.usage and sent.usage.get(key) != got.usage.get(key):
                problems.append(Problem("info", f"{where}: usage.{key}: provider sent {sent.usage.get(key)}, "
                                                f"client got {got.usage.get(key)}"))
    return problems


def thinking_signed(answers: list[ClientAnswer], upstream: list[AssistantMessage]) -> list[Problem]:
    """Claude Code echoes thinking back with its signature: one without would be refused next turn."""
    return [Problem("high", f"turn {a.turn}: thinking block {n} has no signature")
            for a in answers for n, b in enumerate(_blocks(a.message, "thinking")) if not b.get("signature")]


def tool_use_roundtrip(answers: list[ClientAnswer], upstream: list[AssistantMessage]) -> list[Problem]:
    """A tool_use has an id, a name and a JSON object input, and ends its turn with stop_reason tool_use."""
    problems = []
    for a in answers:
        for call in _blocks(a.message, "tool_use"):
            if not call.get("id") or not call.get("name"):
                problems.append(Problem("high", f"turn {a.turn}: tool_use without id or name: {call!r:.120}"))
            if not isinstance(call.get("input"), dict):
                problems.append(Problem("high", f"turn {a.turn}: tool input is not a JSON object: {call.get('input')!r:.120}"))
            if a.message.stop_reason != "tool_use":
                problems.append(Problem("warning", f"turn {a.turn}: stop_reason {a.message.stop_reason!r} after a "
                                                   "tool_use, expected 'tool_use'"))
    return problems


def cache_usage(answers: list[ClientAnswer], upstream: list[AssistantMessage]) -> list[Problem]:
    """The cache counts the provider reported reach the client as they were."""
    problems = []
    for a, sent in zip(answers, upstream):
        for key in ("cache_creation_input_tokens", "cache_read_input_tokens"):
            got = a.message.raw_usage.get(key)
            if not isinstance(got, int):
                problems.append(Problem("warning", f"turn {a.turn}: usage.{key} missing from the response"))
            elif key in sent.raw_usage and sent.raw_usage[key] != got:
                problems.append(Problem("warning", f"turn {a.turn}: usage.{key}: provider sent {sent.raw_usage[key]}, "
                                                   f"client got {got}"))
    return problems


def web_search_results(answers: list[ClientAnswer], upstream: list[AssistantMessage]) -> list[Problem]:
    """The WebSearch tool's own request came back with a search (server_tool_use and results)."""
    for a in answers:
        if _blocks(a.message, "web_search_tool_result") and _blocks(a.message, "server_tool_use"):
            return []
    return [Problem("high", "no server_tool_use with a web_search_tool_result reached the client: "
                            "Claude Code's WebSearch tool got no search results")]


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}... ({len(str(value))} chars)"


def _block_differences(kind: str, want: list[dict], have: list[dict]) -> list[str]:
    if len(want) != len(have):
        return [f"{kind} blocks: provider sent {len(want)}, client got {len(have)}"]
    problems = []
    for n, (w, h) in enumerate(zip(want, have)):
        for key in sorted(set(w) | set(h)):
            if w.get(key) != h.get(key):
                problems.append(f"{kind} block {n} {key}: provider sent {_short(w.get(key))}, client got {_short(h.get(key))}")
    return problems


def _blocks(message: AssistantMessage, kind: str) -> list[dict]:
    return [b for b in message.content if b.get("type") == kind]


CHECKS: dict[str, Check] = {
    "client_stream_intact": client_stream_intact,
    "upstream_content_intact": upstream_content_intact,
    "thinking_signed": thinking_signed,
    "tool_use_roundtrip": tool_use_roundtrip,
    "cache_usage": cache_usage,
    "web_search_results": web_search_results,
}


def run_checks(names: tuple[str, ...], answers: list[ClientAnswer],
               upstream: list[AssistantMessage]) -> list[tuple[str, Problem]]:
    return [(name, problem) for name in names for problem in CHECKS[name](answers, upstream)]
