"""The GPT-5.6 columns' routes: OpenAI's Responses API and Chat Completions at OpenAI,
at Azure OpenAI's deployments and at Bedrock Mantle, each held to its provider's
contract (ccmatrix/providers/gpt.py) and answered by openai_responses / openai_chat.

    api.openai.com               POST /v1/responses, /v1/chat/completions (bearer key)
    <resource>.openai.azure.com  POST /openai/responses?api-version=..., /openai/v1/responses,
                                 /openai/deployments/<name>/chat/completions?api-version=... (api-key)
    bedrock-mantle.<region>.api.aws  POST /openai/v1/responses, .../chat/completions (bearer or SigV4)
"""

from __future__ import annotations

import re

from ccmatrix.emulator import openai_chat, openai_responses
from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, contract_answer, parse_json_object
from ccmatrix.providers import azure_openai, bedrock_mantle, ids
from ccmatrix.providers import openai as openai_provider
from ccmatrix.providers.gpt import GptProvider

_DEPLOYMENT = re.compile(r"/openai/deployments/([^/]+)/")


def _route(req: EmulatedRequest, provider: GptProvider, auth_headers: tuple[str, ...]) -> EmulatedResponse | None:
    path = req.route_path.split("?")[0].rstrip("/")
    responses, chat = path.endswith("/responses"), path.endswith("/chat/completions")
    if req.method != "POST" or not (responses or chat):
        return None
    headers = {"x-request-id": ids.request_id(req.seed)}
    if not any(req.header(name) for name in auth_headers):
        status, answer_headers, data = provider.unauthenticated(
            "You didn't provide an API key. You need to provide your API key in an Authorization header.", req.seed)
        return EmulatedResponse(status, answer_headers, [data])
    body = parse_json_object(req.body)
    rejected = contract_answer(provider, req, body)
    if rejected is not None:
        return rejected
    body = body or {}
    if responses:
        return openai_responses.answer(req, body, headers)
    deployment = _DEPLOYMENT.search(path)
    return openai_chat.answer(req, body, deployment[1] if deployment else str(body.get("model")), headers)


def openai(req: EmulatedRequest) -> EmulatedResponse | None:
    return _route(req, openai_provider.PROVIDER, ("authorization",))


def azure(req: EmulatedRequest) -> EmulatedResponse | None:
    return _route(req, azure_openai.PROVIDER, ("api-key", "authorization"))


def mantle(req: EmulatedRequest) -> EmulatedResponse | None:
    return _route(req, bedrock_mantle.PROVIDER, ("authorization",))
