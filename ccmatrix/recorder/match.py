"""Replay matching: which recorded interaction answers an upstream request, failing closed.

A recorded interaction answers a request when the route (method, path) is the
same and no load-bearing field differs; among several, the one with the fewest
differences wins. Otherwise the request gets an explicit error response, shaped
like the provider's own errors (so LiteLLM relays it to the client), naming the
closest recorded request and the field-level differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ccmatrix.cassette import Interaction, RecordedRequest
from ccmatrix.cassette.field_diff import FieldDiff, compare, request_view, summarize
from ccmatrix.providers import ErrorAnswer, Provider

REPLAY_HEADER = "x-ccmatrix-replay"  # marks an answer ccmatrix made up, never the provider


def view(request: RecordedRequest) -> dict[str, Any]:
    body = request.body.value() if request.body is not None else None
    return request_view(request.method, request.url, request.headers, body)


@dataclass
class Match:
    index: int | None  # the interaction that answered, None when none could
    closest: int | None
    diffs: list[FieldDiff] = field(default_factory=list)
    error: str | None = None

    @property
    def matched(self) -> bool:
        return self.index is not None


def match(
    interactions: Sequence[Interaction],
    request: RecordedRequest,
    load_bearing: Sequence[str],
    source: str = "cassette",
    views: Sequence[dict[str, Any]] | None = None,
) -> Match:
    """`views`: the interactions' request views, when the caller keeps them computed."""
    observed = view(request)
    if views is None:
        views = [view(i.request) for i in interactions]
    scored: list[tuple[int, int, int, list[FieldDiff]]] = []
    for index, recorded_view in enumerate(views):
        diffs = compare(recorded_view, observed, load_bearing)
        route_differs = any(d.path in ("method", "path") for d in diffs)
        bearing = sum(d.load_bearing for d in diffs)
        scored.append((route_differs, bearing, len(diffs), index, diffs))  # type: ignore[arg-type]
    if not scored:
        return Match(None, None, [], f"ccmatrix replay: {source} has no recorded request for {request.method} {request.url}")
    scored.sort(key=lambda s: s[:4])
    route_differs, bearing, _, index, diffs = scored[0]  # type: ignore[misc]
    if not route_differs and not bearing:
        return Match(index, index, diffs)
    what = summarize(diffs) or "; ".join(d.describe() for d in diffs[:5])
    error = (
        f"ccmatrix replay: no recorded request in {source} matches {request.method} {request.url}; "
        f"closest is interaction #{index}; load-bearing differences: {what}"
    )
    return Match(None, index, diffs, error)


def mismatch_answer(provider: Provider, message: str) -> ErrorAnswer:
    """A mismatch answered in the provider's own error shape (400: not retried)."""
    status, headers, body = provider.error_answer(message)
    return status, {**headers, REPLAY_HEADER: "mismatch"}, body
