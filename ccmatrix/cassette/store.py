"""The cassette format: one JSON file per (feature, provider, tier).

A cassette holds the upstream exchanges of one cell, redacted, with bodies as
structured JSON and streams as decoded events (re-encoded byte-exact on replay,
see ccmatrix.wire). Large repeated values (Claude Code's system prompt, tool
definitions) live once in `cassettes/blobs/`, referenced as ``{"$blob": name}``,
which keeps the tree small while a pull-request diff still shows what changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ccmatrix.fsutil import write_atomic
from ccmatrix.results import Provenance, Status

FORMAT = "ccmatrix-cassette/1"
BLOB_DIR = "blobs"
BLOB_KEY = "$blob"
# Values at least this large (compact JSON bytes) are stored as blobs.
BLOB_THRESHOLD = 1024


class CassetteError(Exception):
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


class Cassette(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["ccmatrix-cassette/1"] = FORMAT
    cell: CellRef | None = None  # None for a run-wide auth cassette
    provenance: Provenance
    verdict: RecordedVerdict | None = None
    interactions: list[Interaction]


# ---------------------------------------------------------------- blob store


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _blob_name(value: Any) -> str:
    if isinstance(value, str):
        return hashlib.sha256(value.encode()).hexdigest()[:24] + ".txt"
    return hashlib.sha256(_compact(value).encode()).hexdigest()[:24] + ".json"


def externalize(value: Any, blobs: dict[str, Any], root: bool = True) -> Any:
    """Replace large subtrees (bottom-up) with blob references; fill `blobs`.

    The root itself stays inline, so a body's own small fields (max_tokens,
    thinking, output_config ...) are read and diffed in the cassette file.
    """
    if isinstance(value, dict):
        value = {k: externalize(v, blobs, False) for k, v in value.items()}
    elif isinstance(value, list):
        value = [externalize(v, blobs, False) for v in value]
    elif not isinstance(value, str):
        return value
    if not root and len(_compact(value)) >= BLOB_THRESHOLD:
        name = _blob_name(value)
        blobs[name] = value
        return {BLOB_KEY: name}
    return value


def internalize(value: Any, blob_dir: Path, source: Path) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and BLOB_KEY in value:
            return internalize(read_blob(blob_dir, value[BLOB_KEY], source), blob_dir, source)
        return {k: internalize(v, blob_dir, source) for k, v in value.items()}
    if isinstance(value, list):
        return [internalize(v, blob_dir, source) for v in value]
    return value


def read_blob(blob_dir: Path, name: str, source: Path) -> Any:
    if not isinstance(name, str) or "/" in name or name.startswith("."):
        raise CassetteError(f"{source}: invalid blob reference {name!r}")
    path = blob_dir / name
    try:
        text = path.read_bytes().decode("utf-8")  # not read_text: keep \r\n as recorded
    except FileNotFoundError:
        raise CassetteError(f"{source}: blob {name} is missing from {blob_dir}") from None
    if name.endswith(".txt"):
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CassetteError(f"{path}: not valid JSON: {exc}") from None


def dump_json(value: Any) -> str:
    """Indented JSON, except stream events: one compact event per line, which keeps
    cassettes small and makes a changed event one changed line in a diff.

    Key order is kept as recorded (stream payloads must re-encode byte-exact); it
    is deterministic because every writer builds dicts in a fixed order."""
    events: list[str] = []

    def mark(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: [_event_marker(e, events) for e in v] if k == "events" and isinstance(v, list) else mark(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [mark(v) for v in node]
        return node

    text = json.dumps(mark(value), indent=2, ensure_ascii=False)
    for n, event in enumerate(events):
        text = text.replace(f'"\\u0000event-{n}\\u0000"', event, 1)
    return text + "\n"


def _event_marker(event: Any, events: list[str]) -> str:
    events.append(json.dumps(event, ensure_ascii=False))
    return f"\u0000event-{len(events) - 1}\u0000"


def write_document(path: Path, document: dict[str, Any], blob_root: Path) -> None:
    """Write a JSON document with its large values externalized into blob_root/blobs."""
    blobs: dict[str, Any] = {}
    document = externalize_bodies(document, blobs)
    blob_dir = blob_root / BLOB_DIR
    for name, value in blobs.items():
        target = blob_dir / name
        if not target.exists():
            write_atomic(target, value if isinstance(value, str) else dump_json(value))
    write_atomic(path, dump_json(document))


def externalize_bodies(document: Any, blobs: dict[str, Any]) -> Any:
    """Externalize only request bodies (`request.body.json`): they are the large part."""
    if isinstance(document, dict):
        out = {}
        for key, value in document.items():
            if key == "body" and isinstance(value, dict) and "json" in value:
                out[key] = {**value, "json": externalize(value["json"], blobs)}
            else:
                out[key] = externalize_bodies(value, blobs)
        return out
    if isinstance(document, list):
        return [externalize_bodies(v, blobs) for v in document]
    return document


def read_document(path: Path, blob_root: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CassetteError(f"{path}: no such cassette") from None
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise CassetteError(f"{path}: not valid JSON: {exc}") from None
    return internalize(raw, blob_root / BLOB_DIR, path)


def save(cassette: Cassette, path: Path, root: Path) -> bool:
    """Write the cassette. When only the recording time would change, the old time is
    kept, so re-recording unchanged traffic leaves a clean diff; returns whether the
    recorded content changed."""
    changed = True
    if path.exists():
        try:
            old = load(path, root)
        except CassetteError:
            old = None
        if old is not None and _same_but_time(old, cassette):
            cassette = cassette.model_copy(update={"provenance": old.provenance})
            changed = False
    write_document(path, cassette.model_dump(mode="json", by_alias=True, exclude_none=True), root)
    return changed


def _same_but_time(a: Cassette, b: Cassette) -> bool:
    def strip(c: Cassette) -> dict:
        data = c.model_dump(mode="json", by_alias=True, exclude_none=True)
        data["provenance"].pop("recorded_at", None)
        return data

    return strip(a) == strip(b)


def load(path: Path, root: Path) -> Cassette:
    data = read_document(path, root)
    try:
        return Cassette.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CassetteError(f"{path}: {where}: {first['msg']} ({exc.error_count()} problem(s))") from None


def referenced_blobs(root: Path) -> set[str]:
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if len(value) == 1 and BLOB_KEY in value:
                names.add(value[BLOB_KEY])
                blob = root / BLOB_DIR / value[BLOB_KEY]
                if blob.suffix == ".json" and blob.exists():
                    walk(json.loads(blob.read_text(encoding="utf-8")))
                return
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for path in root.rglob("*.json"):
        if BLOB_DIR not in path.relative_to(root).parts:
            walk(json.loads(path.read_text(encoding="utf-8")))
    return names


def prune_blobs(root: Path) -> list[Path]:
    """Delete blobs no cassette refers to any more (after a re-record)."""
    keep = referenced_blobs(root)
    removed = []
    for blob in (root / BLOB_DIR).glob("*"):
        if blob.name not in keep:
            blob.unlink()
            removed.append(blob)
    return removed
