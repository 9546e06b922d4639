"""How a replayed stream is cut into network reads.

A real provider's stream reaches LiteLLM in whatever pieces TCP and the
provider's servers make: an event split mid-frame, several events in one read,
a multi-byte character cut in two. A stream decoder that assumes whole events
per read works against an idealised replay and breaks in production. Replay
can therefore deliver a recorded stream under any of these deterministic
chunkings (each a named function, as vcrpy names its matchers):

    coalesced  the whole body in one write (the default: fastest, what replay always did)
    recorded   the read boundaries the recording saw (Stream.boundaries); one write
               per event when the cassette has none
    events     one event (SSE event, AWS event-stream message) per write
    mid-event  every event cut in two at its middle (a frame split across reads)
    mid-char   every multi-byte UTF-8 character cut after its first byte, and every
               event without one cut at its middle

Only streamed responses are cut: a plain JSON body is one write under every
chunking. `ccmatrix run --chunkings all` runs each cell tier under every one.
"""

from __future__ import annotations

import re
from typing import Callable

from ccmatrix.cassette import RecordedResponse, Stream
from ccmatrix.wire import eventstream, sse

__all__ = ["CHUNKINGS", "DEFAULT_CHUNKING", "boundaries_of_reads", "cut", "event_bytes", "parse_chunkings"]

DEFAULT_CHUNKING = "coalesced"


def event_bytes(stream: Stream) -> list[bytes]:
    """The stream's bytes, one item per event (their concatenation is Stream.to_bytes())."""
    if stream.format == "sse":
        return [sse.encode_sse_event(event) for event in stream.events]
    return [eventstream.encode_eventstream([message]) for message in stream.events]


def _coalesced(stream: Stream) -> list[bytes]:
    return [b"".join(event_bytes(stream))]


def _events(stream: Stream) -> list[bytes]:
    return event_bytes(stream)


def _recorded(stream: Stream) -> list[bytes]:
    events = event_bytes(stream)
    if stream.boundaries is None:
        return events
    cuts = set()
    start = 0
    starts = []
    for data in events:
        starts.append(start)
        start += len(data)
    for index, offset in stream.boundaries:
        if index < len(events):
            # a redacted event can be shorter than the one recorded: stay inside it
            cuts.add(starts[index] + min(offset, max(len(events[index]) - 1, 0)))
    return _split_at(b"".join(events), sorted(cuts))


def _mid_event(stream: Stream) -> list[bytes]:
    pieces = []
    for data in event_bytes(stream):
        half = len(data) // 2
        pieces.extend([data[:half], data[half:]] if half else [data])
    return pieces


# a well-formed multi-byte UTF-8 character (lead byte, then its continuation bytes)
_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _mid_char(stream: Stream) -> list[bytes]:
    pieces = []
    for data in event_bytes(stream):
        cuts = [m.start() + 1 for m in _MULTIBYTE.finditer(data)]
        pieces.extend(_split_at(data, cuts or [len(data) // 2]))
    return pieces


def _split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    pieces, start = [], 0
    for cut_at in cuts:
        if start < cut_at < len(data):
            pieces.append(data[start:cut_at])
            start = cut_at
    pieces.append(data[start:])
    return pieces


CHUNKINGS: dict[str, Callable[[Stream], list[bytes]]] = {
    "coalesced": _coalesced,
    "recorded": _recorded,
    "events": _events,
    "mid-event": _mid_event,
    "mid-char": _mid_char,
}


def cut(response: RecordedResponse, chunking: str) -> list[bytes]:
    """The response body as the writes that deliver it; their concatenation is the body."""
    if response.stream is None:
        return [response.content()]
    return [piece for piece in CHUNKINGS[chunking](response.stream) if piece]


def parse_chunkings(value: str) -> list[str]:
    """`--chunkings`: "all", or names joined by commas (the first is the one reported)."""
    if value.strip() == "all":
        return list(CHUNKINGS)
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in CHUNKINGS]
    if unknown or not names:
        raise ValueError(f"--chunkings: unknown chunking {', '.join(unknown) or repr(value)}; "
                         f"choose from {', '.join(CHUNKINGS)} or 'all'")
    return list(dict.fromkeys(names))


def boundaries_of_reads(read_lengths: list[int], event_lengths: list[int]) -> list[tuple[int, int]]:
    """Where each network read ended, as (event index, byte offset inside that event).

    Positions relative to events survive redaction (which can change an event's
    length), where absolute byte offsets would drift. The end of the stream is
    not a boundary."""
    total = sum(event_lengths)
    out: list[tuple[int, int]] = []
    position = 0
    for length in read_lengths[:-1] if read_lengths else []:
        position += length
        if position >= total:
            break
        start = 0
        for index, event_length in enumerate(event_lengths):
            if position < start + event_length:
                out.append((index, position - start))
                break
            start += event_length
    return out
