"""The live harness's plain-HTTP probes: rows no CLI flag exercises (count_tokens, and
the server-side tool search tool), sent to the proxy as the harness sends them.

Facts from BerriAI/litellm `tests/e2e/claude_code/http_probe.py`: no anthropic-beta
header (the proxy is expected to add what the provider needs), a Bearer key,
`anthropic-version: 2023-06-01`; count_tokens passes on 200 with a positive integer
`input_tokens`, tool search on 200 with a JSON object holding `content` or `choices`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["PROBES", "ProbeRequest", "ProbeResult", "probe_request", "send_probe"]

TOOL_SEARCH_PROMPT = ("If you have a tool to discover other tools, use it to find one. "
                      "Otherwise reply with the word 'done'.")


@dataclass(frozen=True)
class ProbeRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ProbeResult:
    name: str
    status: int | None
    body: Any  # parsed JSON, or the text when it is not JSON
    error: str | None = None  # a transport error

    def problem(self) -> str | None:
        """The live harness's words for a failed probe, or None when it passed."""
        if self.error is not None:
            return f"{self.name} probe failed: transport error: {self.error}"
        if self.status != 200:
            text = self.body if isinstance(self.body, str) else json.dumps(self.body, separators=(",", ":"))
            return f"{self.name} probe failed: status {self.status}: {text[:400]}"
        if not isinstance(self.body, dict):
            return f"{self.name} probe failed: body is not a JSON object: {str(self.body)[:200]}"
        if self.name == "count_tokens":
            tokens = self.body.get("input_tokens")
            if not isinstance(tokens, int) or isinstance(tokens, bool):
                return f"count_tokens probe failed: input_tokens missing or not an int: got {tokens!r}"
            if tokens <= 0:
                return f"count_tokens probe failed: input_tokens must be positive; got {tokens}"
            return None
        if "content" not in self.body and "choices" not in self.body:
            return f"{self.name} probe failed: response has neither `content` nor `choices`: keys={sorted(self.body)}"
        return None


_HEADERS = {"content-type": "application/json", "anthropic-version": "2023-06-01"}


def _count_tokens(model: str) -> ProbeRequest:
    return ProbeRequest("POST", "/v1/messages/count_tokens", dict(_HEADERS),
                        {"model": model, "messages": [{"role": "user", "content": "hello world"}]})


def _tool_search(model: str) -> ProbeRequest:
    add_numbers = {"name": "add_numbers", "description": "Add two integers", "input_schema": {
        "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}
    return ProbeRequest("POST", "/v1/messages", dict(_HEADERS), {
        "model": model,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": TOOL_SEARCH_PROMPT}],
        "tools": [{"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"}, add_numbers],
    })


PROBES = {"count_tokens": _count_tokens, "tool_search": _tool_search}


def probe_request(name: str, model: str) -> ProbeRequest:
    return PROBES[name](model)


def send_probe(http: httpx.Client, name: str, model: str) -> ProbeResult:
    """`http` carries the proxy's base URL and its Bearer key."""
    request = probe_request(name, model)
    try:
        response = http.request(request.method, request.path, json=request.body, headers=request.headers)
    except httpx.HTTPError as exc:
        return ProbeResult(name, None, None, f"{type(exc).__name__}: {exc}")
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return ProbeResult(name, response.status_code, body)
