"""Wire conventions shared by Bedrock's InvokeModel and Converse routes."""

from __future__ import annotations

from ccmatrix.emulator.exchange import EmulatedResponse, json_response
from ccmatrix.providers import ids
from ccmatrix.wire.eventstream import encode_message
from ccmatrix.wire.sse import compact_json

EVENTSTREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
VALIDATION = "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"


def aws_error(status: int, error_type: str, message: str, seed: str) -> EmulatedResponse:
    """AWS JSON errors: the type travels in x-amzn-ErrorType, the body is {"message": ...}."""
    return json_response(
        status,
        {"message": message},
        {"x-amzn-RequestId": ids.aws_request_id(seed), "x-amzn-ErrorType": error_type},
    )


def validation_error(message: str, seed: str) -> EmulatedResponse:
    return aws_error(400, VALIDATION, message, seed)


def malformed(detail: str, seed: str) -> EmulatedResponse:
    """Bedrock's own schema check, e.g. "#: extraneous key [model] is not permitted"."""
    return validation_error(f"Malformed input request: {detail}, please reformat your input and try again.", seed)


def event_message(event_type: str, payload: dict) -> bytes:
    """One event stream message as Bedrock frames it (header order as AWS sends it)."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, compact_json(payload).encode("utf-8"))


def stream_headers(seed: str) -> dict[str, str]:
    return {
        "content-type": EVENTSTREAM_CONTENT_TYPE,
        "x-amzn-RequestId": ids.aws_request_id(seed),
        "X-Amzn-Bedrock-Content-Type": "application/json",
    }
