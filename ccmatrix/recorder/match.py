"""Replay matching: which recorded interaction answers an upstream request, failing closed.

A recorded interaction answers a request when the route (method, path) is the
same and no load-bearing field is missing from it (a load-bearing value that changed
is reported, see ccmatrix.verdict.judge); among several, the one with the fewest
differences wins. Otherwise the request gets an explicit error response, shaped
like the provider's own errors (so LiteLLM relays it to the client), naming the
closest recorded request and the field-level differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Sequence

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
    # how many recordings share the request's route (method, host, path): 0 is a new route
    route_recordings: int = 0
    # no recording on the route holds the same conversation (its first user message):
    # a request the recording never saw, not a changed version of one it saw
    new_conversation: bool = False
    # the conversation is recorded on the route, but this request carries more messages
    # than any recording of it: a later turn the recording never reached (the recorded
    # release stopped earlier, e.g. refused the turn itself). Fewer messages than a
    # recorded turn is not new: a dropped message must stay red.
    new_turn: bool = False

    @property
    def matched(self) -> bool:
        return self.index is not None


def route(request_view: dict[str, Any]) -> tuple[str, str, str]:
    return request_view.get("method", ""), request_view.get("host", ""), request_view.get("path", "")


def _messages(body: Any) -> list | None:
    """The conversation's messages (Messages and Converse bodies, and the Bedrock
    CountTokens wrapper around either)."""
    if not isinstance(body, dict):
        return None
    wrapped = body.get("input")
    if isinstance(wrapped, dict) and len(wrapped) == 1:
        inner = next(iter(wrapped.values()))
        inner = inner.get("body", inner) if isinstance(inner, dict) else inner
        return _messages(inner.get("$base64_json", inner) if isinstance(inner, dict) else None)
    messages = body.get("messages")
    return messages if isinstance(messages, list) else None


@dataclass(frozen=True)
class Conversation:
    """What identifies a conversation across turns, providers and proxies: the text of its
    first user message, whitespace removed, whole (`full`) and its last text block (`prompt`:
    Claude Code puts its reminders first and the user's prompt last)."""

    prompt: str
    full: str

    def same_as(self, other: "Conversation") -> bool:
        # containment, not equality: a proxy that merges, splits or drops the reminder
        # blocks still holds the same prompt (what it lost shows in the diff)
        return self.prompt in other.full or other.prompt in self.full


def conversation_of(body: Any) -> Conversation | None:
    messages = _messages(body)
    if not messages or not isinstance(messages[0], dict):
        return None
    content = messages[0].get("content")
    if isinstance(content, str):
        texts = [content]
    elif isinstance(content, list):
        texts = [str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("text")]
    else:
        return None
    squeeze = [("".join(t.split())) for t in texts]
    squeeze = [t for t in squeeze if t]
    if not squeeze:
        return None
    return Conversation(prompt=squeeze[-1], full="".join(squeeze))


def _body(request: RecordedRequest) -> Any:
    return request.body.value() if request.body is not None else None


def match(
    interactions: Sequence[Interaction],
    request: RecordedRequest,
    load_bearing: Sequence[str],
    source: str = "cassette",
    views: Sequence[dict[str, Any]] | None = None,
    used: Collection[int] = (),
) -> Match:
    """`views`: the interactions' request views, when the caller keeps them computed.
    `used`: interactions that already answered in this cell: among equally close ones,
    an unused one answers first, so a request sent again (Claude Code retrying a fault)
    gets what the provider answered the retry, as vcrpy plays each recording once."""
    observed = view(request)
    if views is None:
        views = [view(i.request) for i in interactions]
    same_route = [i for i, v in enumerate(views) if route(v) == route(observed)]
    on_route = len(same_route)
    this = conversation_of(_body(request))
    recorded = {i: conversation_of(_body(interactions[i].request)) for i in same_route}
    same = [i for i, c in recorded.items() if this is not None and c is not None and c.same_as(this)]
    new_conversation = this is not None and bool(same_route) and not same
    turn_of = {i: len(_messages(_body(interactions[i].request)) or []) for i in same}
    this_turn = len(_messages(_body(request)) or [])
    new_turn = bool(turn_of) and this_turn > max(turn_of.values())
    # the recordings of this very turn of this conversation (its number of messages): the
    # request's counterpart, answered and diffed against before any other turn, so that
    # LiteLLM's second request is compared with the recorded second request, not with the
    # first one that happens to lose fewer fields (a 2,700-line diff of a whole new turn)
    counterpart = {i for i, turn in turn_of.items() if turn == this_turn}
    scored: list[tuple] = []
    for index, recorded_view in enumerate(views):
        diffs = compare(recorded_view, observed, load_bearing)
        route_differs = any(d.path in ("method", "path") for d in diffs)
        other_turn = bool(counterpart) and index not in counterpart
        lost = sum(d.load_bearing and d.kind == "missing" for d in diffs)
        bearing = sum(d.load_bearing for d in diffs)
        scored.append((route_differs, other_turn, lost, bearing, len(diffs), index in used, index, diffs))
    if not scored:
        return Match(None, None, [], f"ccmatrix replay: {source} has no recorded request for {request.method} {request.url}")
    scored.sort(key=lambda s: s[:7])
    route_differs, _, lost, _, _, _, index, diffs = scored[0]
    if not route_differs and not lost and not new_conversation and not new_turn:
        # nothing load-bearing was lost: the recording answers; a load-bearing value that
        # changed (max_tokens lowered, a block reshaped) is a finding, not a mismatch
        return Match(index, index, diffs, route_recordings=on_route)
    what = summarize([d for d in diffs if d.kind == "missing"] + [d for d in diffs if d.kind != "missing"]) \
        or "; ".join(d.describe() for d in diffs[:5])
    error = (
        f"ccmatrix replay: no recorded request in {source} matches {request.method} {request.url}; "
        f"closest is interaction #{index}; load-bearing differences: {what}"
    )
    return Match(None, index, diffs, error, route_recordings=on_route, new_conversation=new_conversation,
                 new_turn=new_turn)


def mismatch_answer(provider: Provider, message: str) -> ErrorAnswer:
    """A mismatch answered in the provider's own error shape (400: not retried)."""
    status, headers, body = provider.error_answer(message)
    return status, {**headers, REPLAY_HEADER: "mismatch"}, body
