"""respond(): pick the emulated provider by Host, then the route by path."""

from __future__ import annotations

import fnmatch
from typing import Callable

from ccmatrix.emulator import anthropic_messages, bedrock, entra_token, gce_metadata, google_token, openai, sts, vertex
from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, json_response
from ccmatrix.providers import anthropic, azure, azure_openai, vertex_ai
from ccmatrix.providers import bedrock as aws
from ccmatrix.providers import openai as openai_provider

Handler = Callable[[EmulatedRequest], "EmulatedResponse | None"]

# (host patterns, handler); a handler returns None for a path it does not serve, and the
# next route for the host is asked (Bedrock Mantle serves Anthropic and OpenAI paths).
# The patterns are the providers' own (ccmatrix/providers/), never copied here.
ROUTES: tuple[tuple[tuple[str, ...], Handler], ...] = (
    (anthropic.PROVIDER.hosts, anthropic_messages.first_party),
    (azure.PROVIDER.hosts, anthropic_messages.foundry),
    (vertex_ai.API_HOSTS, vertex.handle),
    (vertex_ai.TOKEN_HOSTS, google_token.handle),
    (vertex_ai.METADATA_HOSTS, gce_metadata.handle),
    (aws.STS_HOSTS, sts.handle),
    (aws.RUNTIME_HOSTS, bedrock.handle),
    (aws.MANTLE_HOSTS, anthropic_messages.bedrock_mantle),
    (aws.MANTLE_HOSTS, openai.mantle),
    (openai_provider.PROVIDER.hosts, openai.openai),
    (azure_openai.ENTRA_HOSTS, entra_token.handle),
    (azure_openai.PROVIDER.hosts, openai.azure),
)


def respond(req: EmulatedRequest) -> EmulatedResponse:
    """The emulated provider's answer to one request (deterministic in the body)."""
    host = req.hostname
    for patterns, handler in ROUTES:
        if any(fnmatch.fnmatchcase(host, pattern) for pattern in patterns):
            response = handler(req)
            if response is not None:
                return response
    return not_found(req)


def not_found(req: EmulatedRequest) -> EmulatedResponse:
    message = f"ccmatrix emulator: no route for {req.method} {req.hostname}{req.route_path}"
    return json_response(404, {"error": {"type": "not_found_error", "message": message}})
