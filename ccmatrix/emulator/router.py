"""respond(): pick the emulated provider by Host, then the route by path."""

from __future__ import annotations

import fnmatch
from typing import Callable

from ccmatrix.emulator import anthropic_messages, bedrock, google_token, vertex
from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, json_response

Handler = Callable[[EmulatedRequest], "EmulatedResponse | None"]

# (host pattern, handler); a handler returns None for a path it does not serve.
# The patterns match ccmatrix.catalog's provider hosts.
ROUTES: tuple[tuple[str, Handler], ...] = (
    ("api.anthropic.com", anthropic_messages.first_party),
    ("*.services.ai.azure.com", anthropic_messages.foundry),
    ("aiplatform.googleapis.com", vertex.handle),
    ("*-aiplatform.googleapis.com", vertex.handle),
    ("oauth2.googleapis.com", google_token.handle),
    ("bedrock-runtime.*.amazonaws.com", bedrock.handle),
    ("bedrock-mantle.*.api.aws", anthropic_messages.bedrock_mantle),
)


def respond(req: EmulatedRequest) -> EmulatedResponse:
    """The emulated provider's answer to one request (deterministic in the body)."""
    host = req.hostname
    for pattern, handler in ROUTES:
        if fnmatch.fnmatchcase(host, pattern):
            response = handler(req)
            if response is not None:
                return response
            break
    return not_found(req)


def not_found(req: EmulatedRequest) -> EmulatedResponse:
    message = f"ccmatrix emulator: no route for {req.method} {req.hostname}{req.route_path}"
    return json_response(404, {"error": {"type": "not_found_error", "message": message}})
