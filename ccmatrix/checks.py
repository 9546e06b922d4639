"""Client-side checks: does the response give Claude Code what it needs?

Each check is a function named in a Feature's `checks`; it returns a list of
problems (empty = pass). `upstream` holds what the provider sent for each turn,
in the same canonical shape as the client's message, so a response transform
that loses or alters content is caught as surely as a request transform.
"""

from __future__ import annotations

from typing import Callable

from ccmatrix.client import ClientExchange
from ccmatrix.messages import Canonical

Check = Callable[[list[ClientExchange], list[Canonical]], list[str]]


def _final(exchanges: list[ClientExchange]) -> ClientExchange | None:
    return exchanges[-1] if exchanges else None


def assistant_text(exchanges: list[ClientExchange], upstream: list[Canonical]) -> list[str]:
    last = _final(exchanges)
    if last is None or last.message is None:
        return []  # a failed request is reported by the driver already
    return [] if last.message.text.strip() else ["assistant_text: the final response has no assistant text"]


def well_formed_stream(exchanges: list[ClientExchange], upstream: list[Canonical]) -> list[str]:
    problems = []
    for ex in exchanges:
        if ex.message is None:
            continue
        if not ex.content_type.startswith("text/event-stream"):
            problems.append(f"well_formed_stream: turn {ex.turn} answered {ex.content_type or 'no content type'}, not an SSE stream")
        problems += [f"well_formed_stream: turn {ex.turn}: {p}" for p in ex.message.stream_problems]
    return problems


def upstream_content_intact(exchanges: list[ClientExchange], upstream: list[Canonical]) -> list[str]:
    problems = []
    for ex, sent in zip(exchanges, upstream):
        got = ex.message
        if got is None:
            continue
        where = f"upstream_content_intact: turn {ex.turn}"
        if got.text != sent.text:
            problems.append(f"{where}: text: provider sent {sent.text[:80]!r}, client got {got.text[:80]!r}")
        for kind in ("thinking", "redacted_thinking", "tool_use", "server_tool_use"):
            want = [b for b in sent.content if b.get("type") == kind]
            have = [b for b in got.content if b.get("type") == kind]
            problems += [f"{where}: {p}" for p in _block_differences(kind, want, have)]
        if sent.stop_reason != got.stop_reason:
            problems.append(f"{where}: stop_reason: provider sent {sent.stop_reason!r}, client got {got.stop_reason!r}")
        for key in ("input_tokens", "output_tokens"):
            if key in sent.usage and sent.usage.get(key) != got.usage.get(key):
                problems.append(f"{where}: usage.{key}: provider sent {sent.usage.get(key)}, client got {got.usage.get(key)}")
    return problems


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


CHECKS: dict[str, Check] = {
    "assistant_text": assistant_text,
    "well_formed_stream": well_formed_stream,
    "upstream_content_intact": upstream_content_intact,
}


def run_checks(names: tuple[str, ...], exchanges: list[ClientExchange], upstream: list[Canonical]) -> list[str]:
    problems: list[str] = []
    for name in names:
        problems += CHECKS[name](exchanges, upstream)
    return problems
