"""Reading and writing cassettes: blobs, one stream event per line, atomic writes.

Large repeated values (Claude Code's system prompt, tool definitions) and header
sets (a few dozen distinct ones across a thousand requests) live once in
`cassettes/blobs/`, shared by every Claude Code release's tree, referenced as
``{"$blob": name}``: that keeps three releases' trees within their budget (18.5 MB) while a
pull-request diff still shows what changed (a changed header set is a new blob,
one header per line).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ccmatrix.cassette.models import Cassette, CassetteError
from ccmatrix.catalog import layout
from ccmatrix.fsutil import write_atomic

BLOB_KEY = "$blob"
# Values at least this large (compact JSON bytes) are stored as blobs ...
BLOB_THRESHOLD = 1024
# ... and so are the objects in a list stored as a blob, from this size
ELEMENT_THRESHOLD = 256
# A text this long is stored in pieces (cut after a blank line, each at least
# PIECE_BYTES): a JSON blob {"$text": [piece names]} names them, and is referenced as
# any blob is. Claude Code's system prompt differs between models and providers in a
# line or two, and each variant was a whole copy.
TEXT_KEY = "$text"
PIECES_THRESHOLD = 8192
PIECE_BYTES = 2048
# Header sets at least this large are stored as blobs (whole: a set is a unit, and
# most requests of a release share one); a short one, like most responses', stays inline.
HEADERS_BLOB_THRESHOLD = 256


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
    return _externalize(value, blobs, root)[0]


def _externalize(value: Any, blobs: dict[str, Any], root: bool) -> tuple[Any, int]:
    """The value with its large subtrees stored, and its size in compact JSON: counted
    bottom-up, since serializing every subtree again at each level cost most of a save."""
    if isinstance(value, dict):
        kept, size = {}, 2 + max(len(value) - 1, 0)  # the braces, and a comma between items
        for key, item in value.items():
            kept[key], item_size = _externalize(item, blobs, False)
            size += _json_size(key) + 1 + item_size  # "key":value
        value = kept
    elif isinstance(value, list):
        parts = [_externalize(item, blobs, False) for item in value]
        value = [item for item, _ in parts]
        size = 2 + max(len(parts) - 1, 0) + sum(n for _, n in parts)
        if not root and size >= BLOB_THRESHOLD:
            # the elements of a list stored as a blob are stored on their own too (all
            # but tiny ones): two tool lists that differ in one tool share every other
            # tool, where each was a 15 KB copy
            value = [_stored(item, blobs) if isinstance(item, dict) and n >= ELEMENT_THRESHOLD else item
                     for item, n in parts]
            size = len(_compact(value))
    elif not isinstance(value, str):
        return value, len(_compact(value))
    elif not root and len(value) >= PIECES_THRESHOLD:
        stored = _stored({TEXT_KEY: [_stored(piece, blobs)[BLOB_KEY] for piece in _pieces(value)]}, blobs)
        return stored, len(_compact(stored))
    else:
        size = _json_size(value)
    if not root and size >= BLOB_THRESHOLD:
        stored = _stored(value, blobs)
        return stored, len(_compact(stored))
    return value, size


def _json_size(text: str) -> int:
    """A string's length in compact JSON (quoted and escaped as json.dumps with ensure_ascii=False)."""
    return len(json.encoder.encode_basestring(text))  # type: ignore[attr-defined]


def _pieces(text: str) -> list[str]:
    pieces, current = [], ""
    for part in re.split(r"(?<=\n\n)", text):
        current += part
        if len(current) >= PIECE_BYTES:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def _stored(value: Any, blobs: dict[str, Any]) -> dict[str, str]:
    name = _blob_name(value)
    blobs[name] = value
    return {BLOB_KEY: name}


def internalize(value: Any, blob_dir: Path, source: Path) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and BLOB_KEY in value:
            return internalize(read_blob(blob_dir, value[BLOB_KEY], source), blob_dir, source)
        if len(value) == 1 and isinstance(value.get(TEXT_KEY), list):  # a long text in pieces
            return "".join(_text_piece(blob_dir, name, source) for name in value[TEXT_KEY])
        return {k: internalize(v, blob_dir, source) for k, v in value.items()}
    if isinstance(value, list):
        return [internalize(v, blob_dir, source) for v in value]
    return value


def _text_piece(blob_dir: Path, name: Any, source: Path) -> str:
    if not isinstance(name, str) or not name.endswith(".txt"):
        raise CassetteError(f"{source}: invalid text piece reference {name!r}")
    return read_blob(blob_dir, name, source)


def read_blob(blob_dir: Path, name: str, source: Path) -> Any:
    """A blob's value (parsed JSON, or text). Read once per process and file version: a
    run loads a few hundred cassettes sharing a few hundred blobs, ~40,000 references.
    The value is shared: callers build new containers from it (internalize), never change it."""
    if not isinstance(name, str) or "/" in name or name.startswith("."):
        raise CassetteError(f"{source}: invalid blob reference {name!r}")
    path = blob_dir / name
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise CassetteError(f"{source}: blob {name} is missing from {blob_dir}") from None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _BLOBS:
        _BLOBS[key] = _parse_blob(path)
    return _BLOBS[key]


_BLOBS: dict[tuple[str, int, int], Any] = {}


def _parse_blob(path: Path) -> Any:
    try:
        text = path.read_bytes().decode("utf-8")  # not read_text: keep \r\n as recorded
    except FileNotFoundError:
        raise CassetteError(f"blob {path.name} is missing from {path.parent}") from None
    if path.name.endswith(".txt"):
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CassetteError(f"{path}: not valid JSON: {exc}") from None


def dump_json(value: Any) -> str:
    """Indented JSON, with some values on one line each:
    - a stream's events (one compact event per line) and its boundaries;
    - a header set left inline (short ones: most are blobs);
    - each top-level field of a JSON body (``"thinking": {...}``, ``"messages": [...]``):
      a body's own fields are what a reviewer looks for, a change to one is one
      changed line, and indenting their insides doubled the tree's size.

    Key order is kept as recorded (stream payloads must re-encode byte-exact); it
    is deterministic because every writer builds dicts in a fixed order."""
    lines: list[str] = []

    def mark(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: _marked(k, v, node, lines) if _one_line(k, v, node) else mark(v) for k, v in node.items()}
        if isinstance(node, list):
            return [mark(v) for v in node]
        return node

    text = json.dumps(mark(value), indent=2, ensure_ascii=False)
    for n, line in enumerate(lines):
        text = text.replace(f'"\\u0000line-{n}\\u0000"', line, 1)
    return text + "\n"


def _one_line(key: str, value: Any, parent: dict[str, Any]) -> bool:
    return ((key in ("events", "boundaries") and isinstance(value, list))
            or (key == "headers" and isinstance(value, dict))
            or (key == "json" and isinstance(value, dict) and parent.keys() == {"json"}))


def _marked(key: str, value: Any, parent: dict[str, Any], lines: list[str]) -> Any:
    if key == "events" and isinstance(value, list):
        return [_line(e, lines) for e in value]
    if key == "json" and isinstance(value, dict) and parent.keys() == {"json"}:  # a body
        return {k: _line(v, lines) for k, v in value.items()}
    return _line(value, lines)


def _line(value: Any, lines: list[str]) -> str:
    lines.append(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return f"\u0000line-{len(lines) - 1}\u0000"


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
    """Externalize the large parts: JSON bodies' big subtrees, and big header sets whole."""
    if isinstance(document, dict):
        out = {}
        for key, value in document.items():
            if key == "body" and isinstance(value, dict) and "json" in value:
                out[key] = {**value, "json": externalize(value["json"], blobs)}
            elif key == "headers" and isinstance(value, dict) and len(_compact(value)) >= HEADERS_BLOB_THRESHOLD:
                out[key] = _stored(value, blobs)
            elif key == "stream" and isinstance(value, dict):  # its events' own headers are part of the event
                out[key] = {**value, "events": [_externalize_echoes(e, blobs) for e in value.get("events") or []]}
            else:
                out[key] = externalize_bodies(value, blobs)
        return out
    if isinstance(document, list):
        return [externalize_bodies(v, blobs) for v in document]
    return document


def _externalize_echoes(event: Any, blobs: dict[str, Any]) -> Any:
    """A stream event with its large lists and texts stored as blobs, its objects kept
    inline (one event per line, readable): OpenAI's Responses API echoes the request's
    tools, some 200 KB of Claude Code's, in three events of every stream."""
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, (list, str)):
            return _externalize(value, blobs, False)[0]
        return value

    return {**event, "data": walk(event["data"])} if isinstance(event, dict) and isinstance(event.get("data"), dict) \
        else event


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
            if len(value) == 1 and isinstance(value.get(TEXT_KEY), list):
                names.update(n for n in value[TEXT_KEY] if isinstance(n, str))
                return
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
