"""Reading and writing cassettes: blobs, one stream event per line, atomic writes.

Large repeated values (Claude Code's system prompt, tool definitions) live once in
`cassettes/blobs/`, referenced as ``{"$blob": name}``, which keeps the tree small
while a pull-request diff still shows what changed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ccmatrix.cassette.models import Cassette, CassetteError
from ccmatrix.catalog import layout
from ccmatrix.fsutil import write_atomic

BLOB_KEY = "$blob"
# Values at least this large (compact JSON bytes) are stored as blobs.
BLOB_THRESHOLD = 1024


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
    """Indented JSON, except stream events (one compact event per line, which keeps
    cassettes small and makes a changed event one changed line in a diff) and
    stream boundaries (one line).

    Key order is kept as recorded (stream payloads must re-encode byte-exact); it
    is deterministic because every writer builds dicts in a fixed order."""
    events: list[str] = []

    def mark(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: [_event_marker(e, events) for e in v] if k == "events" and isinstance(v, list)
                else _event_marker(v, events) if k == "boundaries" and isinstance(v, list)
                else mark(v)
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
    blobs_here = layout.blob_dir(blob_root)
    for name, value in blobs.items():
        target = blobs_here / name
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
    return internalize(raw, layout.blob_dir(blob_root), path)


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
                blob = layout.blob_dir(root) / value[BLOB_KEY]
                if blob.suffix == ".json" and blob.exists():
                    walk(json.loads(blob.read_text(encoding="utf-8")))
                return
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for path in root.rglob("*.json"):
        if layout.BLOB_DIR not in path.relative_to(root).parts:
            walk(json.loads(path.read_text(encoding="utf-8")))
    return names


def prune_blobs(root: Path) -> list[Path]:
    """Delete blobs no cassette refers to any more (after a re-record)."""
    keep = referenced_blobs(root)
    removed = []
    for blob in layout.blob_dir(root).glob("*"):
        if blob.name not in keep:
            blob.unlink()
            removed.append(blob)
    return removed
