"""Wire codecs: turn recorded response streams into reviewable events and back.

Cassettes keep streams as decoded events (so a diff shows what changed) but a
replay must hand LiteLLM the very bytes the provider sent. Every decoder here
therefore only picks a structured representation after checking that the
matching encoder reproduces the original bytes; anything else is kept verbatim.
"""

from ccmatrix.wire.eventstream import (
    EventStreamDecodeError,
    decode_eventstream,
    encode_eventstream,
    encode_message,
    encode_payload,
)
from ccmatrix.wire.sse import compact_json, decode_sse, encode_sse, encode_sse_event

__all__ = [
    "EventStreamDecodeError",
    "compact_json",
    "decode_eventstream",
    "decode_sse",
    "encode_eventstream",
    "encode_message",
    "encode_payload",
    "encode_sse",
    "encode_sse_event",
]
