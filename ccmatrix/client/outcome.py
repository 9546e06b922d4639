"""What a client ended up with, whichever client ran: the input of the live criteria.

The CLI client fills it from `claude`'s stream-json output, as the live harness reads
it; the captured-request client from LiteLLM's answers to the recorded requests (what
Claude Code would have read in them); a probe from its one answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ccmatrix.client.probes import ProbeResult


@dataclass
class ClientOutcome:
    client: str  # "cli" | "captured" | "probe"
    # Claude Code failed (or the run did): the error text, in the live harness's words
    failure: str | None = None
    text: str = ""  # the assistant text of every assistant turn, joined
    blocks: list[dict[str, Any]] = field(default_factory=list)  # every assistant content block
    stream_events: int = 0  # stream events the client saw
    input_json_deltas: int = 0  # ... of which content_block_delta with an input_json_delta
    usage: dict[str, Any] = field(default_factory=dict)  # the last usage reported
    structured_output: Any = None  # --json-schema's answer
    probe: ProbeResult | None = None
    # how the client ran (the command, exit code, seconds): for reports and debugging
    detail: dict[str, Any] = field(default_factory=dict)

    def blocks_of(self, kind: str) -> list[dict[str, Any]]:
        return [b for b in self.blocks if isinstance(b, dict) and b.get("type") == kind]
