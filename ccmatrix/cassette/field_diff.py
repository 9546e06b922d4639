"""The request field diff: field-level comparison of upstream requests.

A request is turned into a *view*: a flat mapping from field paths to values,
e.g. ``body.output_config.effort -> "high"``, ``headers.anthropic-beta.effort-2025-11-24
-> True``, ``path -> "/model/us.anthropic.claude-opus-4-7/invoke"``. Values that change
per call (dates, signatures, tokens, session ids) are normalized first, so two
views of the same logical request are equal. Load-bearing fields are named with
path patterns (see `matches`).
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Literal, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel

from ccmatrix.cassette.redact import PER_CALL, normalize_body, redact_headers


class FieldDiff(BaseModel):
    """One difference between the recorded and the observed upstream request."""

    path: str  # e.g. "body.output_config.effort" (see request_view)
    kind: Literal["missing", "added", "changed"]
    recorded: object = None
    observed: object = None
    load_bearing: bool = False

    def describe(self) -> str:
        if self.kind == "missing":
            return f"{self.path} missing (recorded {short(self.recorded)})"
        if self.kind == "added":
            return f"{self.path} added ({short(self.observed)})"
        return f"{self.path} changed: {short(self.recorded)} -> {short(self.observed)}"


def short(value: object, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Headers that describe the transport, not the request's meaning.
_TRANSPORT_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "accept",
        "accept-encoding",
        "user-agent",
        "transfer-encoding",
        "proxy-connection",
        "keep-alive",
    }
)
# Header and body fields whose values are lists of flags: compared as sets,
# since their order differs between LiteLLM versions and carries no meaning.
_FLAG_HEADERS = frozenset({"anthropic-beta"})
_FLAG_BODY_KEYS = frozenset({"anthropic_beta"})

# How a request authenticates is its credential mode's to judge (ccmatrix/providers/
# credentials.py holds every upstream request to the run's mode), not the recording's: a
# cassette recorded under one mode replays under another, where only these differ.
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "x-amz-security-token"})
_VERTEX_PROJECT = re.compile(r"/projects/[^/]+/")
# Vertex's location (a region's host and path, or the global endpoint's) is the credential
# mode's too (`vertex_location`): the route is compared without it
_VERTEX_LOCATION = re.compile(r"/locations/[^/]+/")
_VERTEX_REGIONAL_HOST = re.compile(r"^[a-z0-9-]+-(aiplatform\.googleapis\.com)$")


def normalize_path(path: str) -> str:
    """The route of a request: URL-decoded, with the Vertex project id and location abstracted."""
    return _VERTEX_LOCATION.sub("/locations/{location}/", _VERTEX_PROJECT.sub("/projects/{project}/", unquote(path)))


def normalize_host(host: str) -> str:
    """The host, a Vertex region's endpoint as the global one (see _VERTEX_LOCATION)."""
    return _VERTEX_REGIONAL_HOST.sub(r"\1", host)


def request_view(method: str, url: str, headers: Mapping[str, str], body: Any) -> dict[str, Any]:
    """The flat, normalized view of one request (body: parsed JSON, a form dict, or text)."""
    parts = urlsplit(url)
    view: dict[str, Any] = {
        "method": method.upper(),
        "host": normalize_host(parts.hostname or ""),
        "path": normalize_path(parts.path),
    }
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        view[f"query.{key}"] = value
    for name, value in redact_headers(dict(headers)).items():
        if name in _TRANSPORT_HEADERS or name in CREDENTIAL_HEADERS or value == PER_CALL:
            continue
        if name in _FLAG_HEADERS:
            for flag in value.split(","):
                if flag.strip():
                    view[f"headers.{name}.{flag.strip()}"] = True
        else:
            view[f"headers.{name}"] = value
    _flatten(_without_billing_line(normalize_body(body)), "body", view)
    return view


def _without_billing_line(body: Any) -> Any:
    """Claude Code's billing line (a per-call system block, see normalize_body) left out:
    some LiteLLM releases drop it, some forward it, and where it sits would shift every
    other system block's index in the diff."""
    if isinstance(body, dict) and isinstance(body.get("system"), list):
        kept = [b for b in body["system"] if not (isinstance(b, dict) and b.get("text") == PER_CALL)]
        return {**body, "system": kept}
    return body


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        if not value:
            out[prefix] = {}
        for key, item in value.items():
            if key in _FLAG_BODY_KEYS and isinstance(item, list) and all(isinstance(i, str) for i in item):
                for flag in item:
                    out[f"{prefix}.{key}.{flag}"] = True
                continue
            _flatten(item, f"{prefix}.{key}", out)
    elif isinstance(value, list):
        if not value:
            out[prefix] = []
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}[{index}]", out)
    else:
        out[prefix] = value


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    # "body.messages" covers body.messages[0].content...; "[*]" is any index; "*" any key
    escaped = re.escape(pattern).replace(r"\[\*\]", r"\[\d+\]").replace(r"\*", r"[^.\[]*")
    return re.compile(rf"^{escaped}(?:$|[.\[])")


def matches(path: str, patterns: Iterable[str]) -> bool:
    return any(_pattern_regex(p).match(path) for p in patterns)


def compare(recorded: Mapping[str, Any], observed: Mapping[str, Any], load_bearing: Iterable[str]) -> list[FieldDiff]:
    """Differences between two views, load-bearing ones first (each group in path order)."""
    patterns = [_pattern_regex(p) for p in load_bearing]
    diffs: list[FieldDiff] = []
    for path in sorted(set(recorded) | set(observed)):
        in_rec, in_obs = path in recorded, path in observed
        # typed equality: JSON false is not 0, 32000 is not 32000.0 for a provider
        if in_rec and in_obs and same_value(recorded[path], observed[path]):
            continue
        kind = "changed" if in_rec and in_obs else ("missing" if in_rec else "added")
        diffs.append(
            FieldDiff(
                path=path,
                kind=kind,
                recorded=recorded.get(path),
                observed=observed.get(path),
                load_bearing=any(p.match(path) for p in patterns),
            )
        )
    diffs.sort(key=lambda d: not d.load_bearing)
    return diffs


def same_value(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def summarize(diffs: list[FieldDiff], limit: int = 5) -> str:
    """A one-line description of the load-bearing differences, collapsed per field."""
    bearing = [d for d in diffs if d.load_bearing]
    if not bearing:
        return ""
    shown = [d.describe() for d in bearing[:limit]]
    more = len(bearing) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
