"""Vertex AI's Anthropic publisher endpoints (rawPredict / streamRawPredict).

The body is a Messages body minus `model` (the model is in the URL) plus
`anthropic_version: "vertex-2023-10-16"`. Errors Vertex raises itself use
Google's shape ({"error": {"code", "message", "status"}}); the Messages
validation behind it answers in Anthropic's shape, as the real service does.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from ccmatrix.emulator import anthropic_messages as messages
from ccmatrix.emulator.exchange import (
    EmulatedRequest,
    EmulatedResponse,
    contract_answer,
    json_response,
    parse_json_object,
)
from ccmatrix.providers import ids, vertex_ai

_ROUTE = re.compile(
    r"^/(?:v1|v1beta1)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/publishers/anthropic/models/(?P<model>[^/:]+):(?P<verb>rawPredict|streamRawPredict)$"
)
_UNAUTHENTICATED = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


def google_error(code: int, status: str, message: str) -> EmulatedResponse:
    return json_response(code, {"error": {"code": code, "message": message, "status": status}})


def handle(req: EmulatedRequest) -> EmulatedResponse | None:
    match = _ROUTE.match(req.route_path)
    if req.method != "POST" or not match:
        return None
    auth = req.header("authorization") or ""
    if not auth.startswith("Bearer ") or not auth[len("Bearer ") :].strip():
        return google_error(401, "UNAUTHENTICATED", _UNAUTHENTICATED)
    body = parse_json_object(req.body)
    if body is None:
        return google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
    rejected = contract_answer(vertex_ai.PROVIDER, req, body)
    if rejected is not None:
        return rejected
    model = unquote(match["model"])
    headers = {"request-id": ids.request_id(req.seed, "req_vrtx_")}
    if model == "count-tokens":  # the SDK's count_tokens: model stays in the body
        return messages.count_tokens(req, headers)
    # rawPredict is a raw passthrough: the body's `stream` decides the answer's
    # shape; streamRawPredict always streams.
    stream = body.get("stream") is True or match["verb"] == "streamRawPredict"
    return messages.answer(req, body, model, provider=vertex_ai.PROVIDER, style=messages.VERTEX, stream=stream,
                           headers=headers)
