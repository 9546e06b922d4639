"""The cassette format: one JSON file per cell tier (feature, provider, tier).

A cassette holds the client leg (what the client sent to LiteLLM) and the upstream
exchanges (what LiteLLM sent the providers) of one cell tier, redacted, with bodies
as structured JSON and streams as decoded events (re-encoded byte-exact on
replay, see ccmatrix.wire). The models here are the format; `store.py` reads and
writes it (blobs, atomic writes). JSON Schema: docs/cassette.schema.json.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel, ConfigDict, Field

from ccmatrix.catalog.status import Status
from ccmatrix.errors import CcmatrixError

FORMAT = "ccmatrix-cassette/1"


class CassetteError(CcmatrixError):
    """A cassette (or blob) that cannot be read; the message names the file."""


class Body(BaseModel):
    """Exactly one of the representations is set."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    json_: Any = Field(default=None, alias="json")
    form: dict[str, str] | None = None
    text: str | None = None
    base64: str | None = None

    @classmethod
    def from_bytes(cls, data: bytes, content_type: str = "") -> "Body | None":
        if not data:
            return None
        ctype = content_type.split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded":
            return cls(form=dict(parse_qsl(data.decode(), keep_blank_values=True)))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return cls(base64=base64.b64encode(data).decode())
        try:
            return cls(json_=json.loads(text))
        except ValueError:
            return cls(text=text)

    def value(self) -> Any:
        """The body as the diff sees it: parsed JSON, a form dict, or text."""
        if self.form is not None:
            return self.form
        if self.text is not None:
            return self.text
        if self.base64 is not None:
            return {"base64": self.base64}
        return self.json_

    def to_bytes(self) -> bytes:
        if self.form is not None:
            return urlencode(self.form).encode()
        if self.text is not None:
            return self.text.encode()
        if self.base64 is not None:
            return base64.b64decode(self.base64)
        return json.dumps(self.json_, separators=(",", ":"), ensure_ascii=False).encode()


class Stream(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["sse", "aws-eventstream"]
    events: list[dict[str, Any]]
    # where the recording's network reads ended, as [event index, byte offset inside
    # that event] (see ccmatrix.recorder.chunking); None when not known
    boundaries: list[tuple[int, int]] | None = None

    def to_bytes(self) -> bytes:
        from ccmatrix.wire import eventstream, sse

        if self.format == "sse":
            return sse.encode_sse(self.events)
        return eventstream.encode_eventstream(self.events)


class RecordedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: str
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: Body | None = None


class RecordedResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: int
    headers: dict[str, str] = Field(default_factory=dict)
    body: Body | None = None
    stream: Stream | None = None

    def content(self) -> bytes:
        if self.stream is not None:
            return self.stream.to_bytes()
        return self.body.to_bytes() if self.body is not None else b""


class Interaction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request: RecordedRequest
    response: RecordedResponse


class CellRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feature: str
    provider: str
    tier: str
    proxy_model: str


class RecordedVerdict(BaseModel):
    """What the cell's verdict was when this cassette was recorded."""

    model_config = ConfigDict(extra="forbid")
    status: Status
    error: str | None = None


class Provenance(BaseModel):
    """Where a recording came from."""

    recorded_at: str
    source: Literal["live", "emulator"]
    litellm_version: str | None = None
    claude_code_version: str | None = None
    ccmatrix_version: str | None = None
    client: Literal["cli", "captured", "probe"] | None = None  # what sent the client leg
    command: list[str] | None = None  # the CLI's command line (client "cli")
    proxy_config: str | None = None  # the LiteLLM config: "ccmatrix (live harness settings)" or a file name
    # the cell's provider's credential mode (ccmatrix/providers/credentials.py), e.g. "api-key"
    credentials: str | None = None


class Cassette(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["ccmatrix-cassette/1"] = FORMAT
    cell: CellRef | None = None  # None for a run-wide auth cassette
    provenance: Provenance
    verdict: RecordedVerdict | None = None
    # the client leg: what the client sent to LiteLLM, in order (the captured-request
    # client sends it again); per-run values replaced as in upstream requests
    client: list[RecordedRequest] = Field(default_factory=list)
    interactions: list[Interaction]  # the provider leg: LiteLLM's upstream exchanges
