"""The request/response pair every emulated route speaks, plus small helpers.

Kept free of HTTP server code so routes can be called (and tested) directly,
and so a replayer can hand recorded requests to `respond()` without a socket.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ccmatrix.cassette.redact import normalize_text
from ccmatrix.providers import Provider
from ccmatrix.providers.contract import ProviderRequest
from ccmatrix.wire.sse import compact_json

__all__ = ["EmulatedRequest", "EmulatedResponse", "json_response", "parse_json_object"]


@dataclass
class EmulatedRequest:
    method: str
    host: str  # as in the Host header; a ":port" suffix is ignored for routing
    path: str  # includes the query string
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # earlier attempts of the same body the server saw (since its last reset): only a
    # fault on purpose (ccmatrix/emulator/faults.py) answers by it
    attempt: int = 0

    def header(self, name: str, default: str | None = None) -> str | None:
        """Case-insensitive header lookup (HTTP header names are case-insensitive)."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return default

    @property
    def hostname(self) -> str:
        host = self.host.strip().lower()
        if host.startswith("["):  # IPv6 literal
            return host.split("]")[0] + "]"
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def route_path(self) -> str:
        """The path without the query string, still percent-encoded."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)

    @property
    def form(self) -> dict[str, str]:
        """A form-encoded body's fields (the first value of each), as token services read it."""
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True).items()}

    @property
    def stable_body(self) -> bytes:
        """The body with its per-run values (the day, the OS release Claude Code writes into
        its prompts) replaced: what the emulator's answer may depend on, so a recording made
        on another day or machine comes out the same."""
        return normalize_text(self.body.decode("utf-8", "replace")).encode("utf-8")

    @property
    def seed(self) -> str:
        """What every id, token count and latency is derived from: same body, same reply."""
        return hashlib.sha256(self.stable_body).hexdigest()


@dataclass
class EmulatedResponse:
    status: int
    headers: dict[str, str]
    chunks: list[bytes]  # one chunk: a plain body; several: a stream, one event each
    # a stream that ends early: the server sends the first `cut_after` chunks as a
    # close-delimited body, then closes the connection (a stream broken mid-way)
    cut_after: int | None = None
    # a stream that stalls: the server sends the first `stall_after` chunks, then nothing,
    # holding the connection open until the client closes it (or the hold runs out)
    stall_after: int | None = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def streamed(self) -> bool:
        # a stream broken on purpose stays one, however few pieces it kept
        return len(self.chunks) > 1 or self.cut_after is not None or self.stall_after is not None


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> EmulatedResponse:
    """A one-chunk JSON answer, compact like the real providers' bodies."""
    return EmulatedResponse(
        status=status,
        headers={"content-type": "application/json", **(headers or {})},
        chunks=[compact_json(payload).encode("utf-8")],
    )


def parse_json_object(body: bytes) -> dict | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def provider_request(req: EmulatedRequest, body: Any) -> ProviderRequest:
    return ProviderRequest.of(req.method, req.hostname, req.path, req.headers, body)


def contract_answer(provider: Provider, req: EmulatedRequest, body: Any) -> EmulatedResponse | None:
    """The provider's own rejection of a request that breaks its contract, or None."""
    verdict = provider.check(provider_request(req, body))
    if verdict.rejected is None:
        return None
    status, headers, data = provider.rejection(verdict.rejected, req.seed)
    return EmulatedResponse(status, headers, [data])


def oauth_error(error: str, description: str, status: int = 400) -> EmulatedResponse:
    """An OAuth 2.0 token endpoint's error body (RFC 6749 section 5.2), as Google's and
    Entra ID's token services answer."""
    return json_response(status, {"error": error, "error_description": description})
