"""Wire conventions shared by Bedrock's InvokeModel and Converse routes."""

from __future__ import annotations

import functools

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


def exception_message(exception_type: str, message: str) -> bytes:
    """An exception inside an event stream, framed as Bedrock frames it: the HTTP status
    stays 200, the frame says `:message-type: exception` and names the type (a real
    converse-stream capture: agentjido/req_llm converse_stream_validation_exception.json)."""
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return encode_message(headers, compact_json({"message": message}).encode("utf-8"))


def exception_frame(error: dict) -> bytes:
    """`Provider.stream_fault_event()`'s {"type", "message"} as an exception frame."""
    return exception_message(error["type"], error["message"])


@functools.cache
def stream_exception_types(operation: str = "ConverseStream") -> frozenset[str]:
    """The exceptions an event stream can carry, from botocore's bedrock-runtime model
    (ConverseStreamOutput / ResponseStream members marked as exceptions)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    output = model.operation_model(operation).output_shape
    stream = next(m for m in output.members.values() if m.serialization.get("eventstream"))
    return frozenset(name for name, member in stream.members.items() if member.metadata.get("exception"))
