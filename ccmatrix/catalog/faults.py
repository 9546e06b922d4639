"""Provider faults, as data: what a fault row asks the provider to do, and what the
native Anthropic API gives Claude Code for the same fault (the expectation LiteLLM's
answer is held to).

A fault row's prompt carries a directive (`ccmatrix-directive: {"fault": ...}`); the
emulator answers the first `failed_attempts` attempts of the same request with the
provider's own fault (ccmatrix/providers/, `fault_answer`; the in-stream frames in
ccmatrix/emulator/), then answers normally, so a client that retries as Claude Code
does gets through. Only the emulator acts on the directive: a live provider cannot be
made to throttle on request, so fault rows are emulator-only (docs/faults.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, Mapping

FaultKind = Literal["rate_limited", "overloaded", "stream_error", "stream_cut", "stream_stall"]
FAULT_KINDS: tuple[str, ...] = ("rate_limited", "overloaded", "stream_error", "stream_cut", "stream_stall")
# on every answer the emulator fails on purpose: which fault it is (the verdict reads it
# from the recording; a real provider never sends it)
FAULT_HEADER = "x-ccmatrix-fault"

# Stream faults break the stream right after its first content delta: the client has
# partial content in hand (a proxy that then ends the stream cleanly hands over a
# truncated answer as a complete one).
FIRST_DELTA = ("content_block_delta", "contentBlockDelta")

# A stalled stream goes quiet after its first delta and stays open: nothing more comes
# until the client gives up (or STALL_HOLD_SECONDS pass, far beyond any client's bound;
# then the connection closes). Claude Code's bound is its byte-level stream watchdog
# (CLI 2.1.332: CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS, clamped to 10 s .. 30 min, 180 s by
# default against a first-party URL; read from the CLI's own code). The stall row sets
# it to its floor, and the captured client keeps the same bound (client/driver.py).
STALL_HOLD_SECONDS = 60.0
IDLE_TIMEOUT_ENV = "CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS"


@dataclass(frozen=True)
class NativeAnswer:
    """What the Anthropic API answers for a fault (docs.claude.com/en/api/errors):
    the status (0: inside a 200 stream) and the error type (of the stream's
    `event: error`; None: the stream just ends, with no error event)."""

    status: int
    error_type: str | None
    retry_after: bool = False  # the API tells the client how long to wait
    goes_quiet: bool = False  # the stream neither fails nor ends: the client's watchdog ends it

    @property
    def in_stream(self) -> bool:
        return self.status == 0


NATIVE: dict[str, NativeAnswer] = {
    "rate_limited": NativeAnswer(429, "rate_limit_error", retry_after=True),
    "overloaded": NativeAnswer(529, "overloaded_error"),
    "stream_error": NativeAnswer(0, "overloaded_error"),
    # the connection drops mid-stream: the client's stream ends without message_stop
    "stream_cut": NativeAnswer(0, None),
    # the stream goes quiet: no error, no end; Claude Code's idle watchdog ends it and retries
    "stream_stall": NativeAnswer(0, None, goes_quiet=True),
}


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    failed_attempts: int = 1  # attempts of the same request that fail before the provider answers

    @property
    def native(self) -> NativeAnswer:
        return NATIVE[self.kind]

    @property
    def directive(self) -> str:
        payload = {"fault": {"kind": self.kind, "failed_attempts": self.failed_attempts}}
        return "ccmatrix-directive: " + json.dumps(payload, separators=(",", ":"))

    @classmethod
    def from_directive(cls, directive: dict | None) -> "Fault | None":
        spec = (directive or {}).get("fault")
        if not isinstance(spec, dict) or spec.get("kind") not in FAULT_KINDS:
            return None
        attempts = spec.get("failed_attempts", 1)
        return cls(spec["kind"], attempts if isinstance(attempts, int) and attempts >= 0 else 1)


def stalled_stream(headers: Mapping[str, str]) -> bool:
    """An answer the emulator stalled on purpose (its FAULT_HEADER says so)."""
    return any(k.lower() == FAULT_HEADER and v == "stream_stall" for k, v in headers.items())


def sdk_retries(status: int, headers: dict[str, str]) -> bool:
    """Whether the Anthropic SDK Claude Code is built on retries an answer: x-should-retry
    decides when present, else 408, 409, 429 and every 5xx (anthropic-sdk-typescript,
    `shouldRetry`)."""
    should = {k.lower(): v for k, v in headers.items()}.get("x-should-retry")
    if should in ("true", "false"):
        return should == "true"
    return status in (408, 409, 429) or status >= 500
