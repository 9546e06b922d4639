"""What changed in Claude Code between two versions: per row, the differences between
the requests each version's CLI sent LiteLLM (the client legs of two releases' cassette trees).

A request is reduced to its *traits*, the things a proxy has to forward or translate:

    beta <flag>            an `anthropic-beta` value
    header <name>          a request header (names only: values are per call or per version)
    field <path>[=<value>] a body field outside the conversation's content (`[*]` for list
                           indices), with its value when it is a short scalar
                           (`field body.thinking.display=summarized`)
    tool <name>            an offered tool (`(deferred)`: `defer_loading`, sent by name only)
    block <type>           a content block type in the messages (`tool_reference`)

A row's traits are the union over its cassettes (every provider and tier: the CLI talks
to LiteLLM the same way whatever the provider behind it), so what is printed is what the
new version sends that the old did not, and the reverse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ccmatrix import catalog
from ccmatrix.cassette import store as cassettes
from ccmatrix.cassette.field_diff import request_view
from ccmatrix.cassette.models import RecordedRequest
from ccmatrix.cassette.redact import normalize_body
from ccmatrix.catalog import layout
from ccmatrix.client.claude_cli import release_key

__all__ = ["RowChanges", "RowTraits", "changes", "compare", "render", "request_traits", "snapshot"]

# the conversation itself (text, prompts, tool schemas): what changes there is content, not protocol
_CONTENT_FIELDS = ("messages", "system", "tools", "metadata", "model")
# headers that carry the version itself, or change per call (request_view drops transport ones)
_IGNORED_HEADERS = frozenset({"x-stainless-package-version", "x-stainless-runtime-version",
                              "x-stainless-retry-count", "x-stainless-timeout", "authorization", "x-api-key"})
_SHORT = 40
_INDEX = re.compile(r"\[\d+\]")


def request_traits(request: RecordedRequest) -> set[str]:
    """Read off the field diff's flat view of the request (field_diff.request_view: the
    same redaction, per-call normalization and beta-flag split a replay diff sees)."""
    value = request.body.value() if request.body is not None else None
    traits = set()
    for path, item in request_view(request.method, request.url, request.headers, value).items():
        if path.startswith("headers.anthropic-beta."):
            traits.add(f"beta {path.removeprefix('headers.anthropic-beta.')}")
        elif path.startswith("headers.") and path.removeprefix("headers.") not in _IGNORED_HEADERS:
            traits.add(f"header {path.removeprefix('headers.')}")
        elif path.startswith("body.") and re.split(r"[.\[]", path, maxsplit=2)[1] not in _CONTENT_FIELDS:
            traits.add(f"field {_INDEX.sub('[*]', path)}" + _shown(item))
    body = normalize_body(value)
    if not isinstance(body, dict):
        return traits
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            name = tool.get("name") or tool.get("type") or "?"
            kind = f" ({tool['type']})" if tool.get("type") and tool.get("type") != "custom" else ""
            traits.add(f"tool {name}{kind}{' (deferred)' if tool.get('defer_loading') else ''}")
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            traits |= {f"block {t}" for t in _block_types(message.get("content"))}
    return traits


def _shown(value: Any) -> str:
    """`=value` for a short scalar; nothing for a long one or an empty container."""
    if isinstance(value, bool):
        return f"={str(value).lower()}"
    if isinstance(value, (int, float)) or (isinstance(value, str) and len(value) <= _SHORT):
        return f"={value}"
    return ""


def _block_types(content: Any) -> Iterable[str]:
    if not isinstance(content, list):
        return
    for block in content:
        if isinstance(block, dict) and isinstance(block.get("type"), str):
            yield block["type"]
            yield from _block_types(block.get("content"))


@dataclass
class RowChanges:
    row: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # client requests per conversation (the most over the row's cassettes), old -> new
    requests: tuple[int, int] = (0, 0)
    versions: tuple[str, str] = ("?", "?")

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed) or self.requests[0] != self.requests[1]


@dataclass
class RowTraits:
    traits: set[str] = field(default_factory=set)
    requests: int = 0  # the most client requests one of the row's conversations made
    versions: set[str] = field(default_factory=set)  # the CLI versions that recorded them


def snapshot(root: Path, release: str, features: Iterable[catalog.Feature] | None = None) -> dict[str, RowTraits]:
    """The traits of every CLI row's client legs in `release`'s tree under `root` (rows with no
    cassette left out)."""
    found = {}
    for feature in features if features is not None else catalog.FEATURES + catalog.FAULT_FEATURES:
        if feature.cli is None:
            continue  # a probe row: ccmatrix's own requests, the same whatever the CLI version
        row = RowTraits()
        for cell in catalog.select(features=[feature.id], implemented_only=False):
            path = cell.cassette_path(root, release)
            if cell.not_applicable_reason or not path.exists():
                continue
            cassette = cassettes.load(path, root)
            row.versions.add(cassette.provenance.claude_code_version or "?")
            row.requests = max(row.requests, len(cassette.client))
            for request in cassette.client:
                row.traits |= request_traits(request)
        if row.versions:
            found[feature.id] = row
    return found


def compare(old: dict[str, RowTraits], new: dict[str, RowTraits]) -> list[RowChanges]:
    """Per row in both, what `new`'s requests carry that `old`'s do not, and the reverse
    (rows recorded by the same CLI version on both sides are no version change: left out)."""
    rows = []
    for row_id in [r for r in new if r in old]:
        a, b = old[row_id], new[row_id]
        if a.versions == b.versions:
            continue
        rows.append(RowChanges(row_id, sorted(b.traits - a.traits), sorted(a.traits - b.traits),
                               (a.requests, b.requests), (", ".join(sorted(a.versions)), ", ".join(sorted(b.versions)))))
    return rows


def changes(root: Path, old: str, new: str, features: Iterable[catalog.Feature] | None = None) -> list[RowChanges]:
    """Per CLI row, what release `new`'s client legs send that `old`'s do not, and the reverse."""
    return compare(snapshot(root, old, features), snapshot(root, new, features))


def previous_release(root: Path, release: str) -> str | None:
    """The newest release older than `release` that `root` holds a tree for."""
    older = [r for r in layout.releases(root) if release_key(r) < release_key(release)]
    return older[-1] if older else None


def render(rows: list[RowChanges]) -> str:
    """The changes every row shares once, then each row's own."""
    if not rows:
        return "no client legs to compare"
    old, new = rows[0].versions
    lines = [f"Claude Code {old} -> {new}: what the requests to the proxy gained (+) and lost (-)"]
    common_added = set.intersection(*(set(r.added) for r in rows))
    common_removed = set.intersection(*(set(r.removed) for r in rows))
    if common_added or common_removed:
        lines.append("every row compared:")
        lines += [f"  + {t}" for t in sorted(common_added)] + [f"  - {t}" for t in sorted(common_removed)]
    for row in rows:
        added = [t for t in row.added if t not in common_added]
        removed = [t for t in row.removed if t not in common_removed]
        count = (f" requests per conversation {row.requests[0]} -> {row.requests[1]}"
                 if row.requests[0] != row.requests[1] else "")
        if not (added or removed or count):
            lines.append(f"{row.row}: {'unchanged' if not row.changed else 'only the above'}")
            continue
        lines.append(f"{row.row}:{count}")
        lines += [f"  + {t}" for t in added] + [f"  - {t}" for t in removed]
    return "\n".join(lines)
