'''The exported test's source: a pytest module that needs LiteLLM, pytest, respx and
PyYAML (LiteLLM's own dependencies and dev dependencies), and nothing of ccmatrix.

Why respx and not vcrpy: LiteLLM talks to providers with httpx, and respx mocks httpx's
transports, as LiteLLM's own tests do (its dev dependencies pin respx). Its async
clients use an aiohttp transport by default, which respx cannot see, so the test sets
LiteLLM's own switch for httpx's transport (DISABLE_AIOHTTP_TRANSPORT). The provider
leg stays a vcrpy cassette (provider_leg.yaml, loadable by vcrpy and pytest-recording);
the test reads it with PyYAML and answers each route's requests in recorded order, each
conversation from its own recordings, as the replay does.
'''

from __future__ import annotations

from ccmatrix import catalog

TEMPLATE = '''"""ccmatrix cell tier {cell_id}: {feature_name} on {provider_name}, {tier_name}, as a LiteLLM unit test.

Exported by `ccmatrix export {cell_id}`. LiteLLM is called in-process the way its proxy
calls it for the deployment (`litellm.anthropic_messages` with the deployment's
litellm_params, expected.json), with the requests Claude Code sent (its turns on this
model); the provider's answers are replayed from provider_leg.yaml (a vcrpy cassette)
with respx. It fails, naming the field, when an upstream request lacks a load-bearing
field it carried when recorded, or when LiteLLM's answer lacks what the row needs.

    python -m pytest {directory}     (in a LiteLLM environment with pytest and respx)
"""

import asyncio
import json
import os
import pathlib
import re
import sys
import warnings

HERE = pathlib.Path(__file__).parent
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
os.environ["DISABLE_AIOHTTP_TRANSPORT"] = "True"  # httpx's own transport, which respx mocks
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # nothing fetched at import

import httpx  # noqa: E402
import litellm  # noqa: E402
import respx  # noqa: E402
import yaml  # noqa: E402

litellm.drop_params = True  # the live harness's proxy settings
litellm.modify_params = True


def _as_recorded(monkeypatch):
    """What the recording's LiteLLM had, for this test only (others in the same session,
    LiteLLM's own among them, keep theirs)."""
    for name, value in EXPECTED["environment"].items():
        monkeypatch.setenv(name, value)  # throwaway credentials, as the recording had
    if "litellm.proxy.proxy_server" not in sys.modules:
        # LiteLLM's Messages adapter (the route to Converse and to OpenAI's APIs, 1.97.0 on)
        # asks the proxy's module for the proxy's router when called without one. In-process
        # there is no proxy and that router is None either way, but the import takes 5-8 s:
        # the module is absent here, as in an install without LiteLLM's proxy extra, which the
        # adapter takes as no router (its _proxy_router_fallback).
        monkeypatch.setitem(sys.modules, "litellm.proxy.proxy_server", None)
    if EXPECTED.get("google_adc"):
        # Vertex AI on application default credentials (the GCE metadata server, live): a
        # token is all LiteLLM needs of them, and the replay does not check it
        import google.auth
        import google.auth.credentials

        class Token(google.auth.credentials.Credentials):
            def refresh(self, request):
                self.token = "ya29.ccmatrix-export-example"

        monkeypatch.setattr(google.auth, "default", lambda *args, **kwargs: (
            Token(), EXPECTED["environment"].get("VERTEXAI_PROJECT")))


def _deployment():
    """litellm_params as the proxy resolves them: os.environ/NAME read from the environment."""
    return {{key: os.environ[value[len("os.environ/"):]] if isinstance(value, str) and value.startswith("os.environ/")
            else value for key, value in EXPECTED["deployment"].items()}}


def _mock(router):
    """The recorded answers, per route (method, host, path), in recorded order: each request
    gets the first not yet given of its conversation's (the last again once all are), as
    ccmatrix's replay answers it. A request of a conversation no recording on its route
    holds (one the recording never saw) gets the error ccmatrix's replay gives it."""
    recorded = {{}}
    for interaction in yaml.safe_load((HERE / "provider_leg.yaml").read_text(encoding="utf-8"))["interactions"]:
        request, response = interaction["request"], interaction["response"]
        url = httpx.URL(request["uri"])
        body = response["body"]["string"]
        answer = httpx.Response(response["status"]["code"], content=body.encode() if isinstance(body, str) else body,
                                headers=[(k, v) for k, vs in response["headers"].items() for v in vs])
        conversation = _conversation(_json(request["body"]))
        recorded.setdefault((request["method"], url.host, url.path), []).append((conversation, answer))
    given = set()

    def answer(request, on):  # (respx passes a parameter named `route` its Route)
        this = _conversation(_json(request.content))
        ours = [i for i, (conversation, _) in enumerate(recorded[on]) if _same(conversation, this)]
        if not ours:
            return httpx.Response(400, json={{"message": "ccmatrix export: a request the recording never saw"}})
        index = next((i for i in ours if (on, i) not in given), ours[-1])
        given.add((on, index))
        return recorded[on][index][1]

    for method, host, path in recorded:
        router.route(method=method, host=host, path=path).mock(
            side_effect=lambda request, on=(method, host, path): answer(request, on))


def _json(content):
    try:
        return json.loads(content or b"null")
    except ValueError:
        return None


def _conversation(body):
    """What names a conversation across its turns, as ccmatrix's replay names it
    (recorder/match.py's conversation_of, which this module cannot import): the text of its
    first message, whitespace removed, whole and its last text block (Claude Code puts its
    reminders first and the prompt last); None when a body has no such message."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        return None
    content = messages[0].get("content")
    if isinstance(content, str):
        texts = [content]
    elif isinstance(content, list):
        texts = [str(block["text"]) for block in content if isinstance(block, dict) and block.get("text")]
    else:
        return None
    texts = [t for t in ("".join(text.split()) for text in texts) if t]
    return (texts[-1], "".join(texts)) if texts else None


def _same(a, b):
    """One conversation (containment: a proxy that merges or drops reminder blocks keeps the
    prompt), or no way to tell."""
    return a is None or b is None or a[0] in b[1] or b[0] in a[1]


async def _answer(turn):
    """LiteLLM's answer to one of Claude Code's requests, as Anthropic content blocks and stream events."""
    body = dict(turn["body"])
    body.pop("model", None)
    stream = bool(body.pop("stream", False))
    # the client's headers the proxy passes on (its betas among them), as the proxy passes them
    answer = await litellm.anthropic_messages(**_deployment(), **body, stream=stream, headers=turn["headers"])
    if not stream:
        return {{"content": answer.get("content") or [], "events": [], "refused": []}}
    raw = b"".join([part if isinstance(part, bytes) else json.dumps(part).encode() async for part in answer])
    events = [json.loads(line[6:]) for line in raw.decode().splitlines() if line.startswith("data: ")]
    blocks, refused = {{}}, []
    for event in events:
        if event.get("type") == "content_block_start":
            blocks[event["index"]] = dict(event["content_block"])
        elif event.get("type") == "content_block_delta" and event.get("index") in blocks:
            delta, block = event["delta"], blocks[event["index"]]
            fits = DELTA_BLOCKS.get(delta.get("type"))
            if fits and block.get("type") not in fits:
                refused.append(f"Content block is not a {{fits[0]}} block")
            for key in ("text", "thinking"):
                if key in delta:
                    block[key] = block.get(key, "") + delta[key]
    return {{"content": [blocks[i] for i in sorted(blocks)], "events": events, "refused": list(dict.fromkeys(refused))}}


# which content block each delta belongs in: Claude Code checks it and stops ("API Error:
# Content block is not a text block", as the published live matrix shows)
DELTA_BLOCKS = {{
    "text_delta": ("text",), "citations_delta": ("text",),
    "thinking_delta": ("thinking",), "signature_delta": ("thinking",),
    "input_json_delta": ("tool_use", "server_tool_use", "mcp_tool_use"),
}}


def _route(view):
    return view.get("method"), view.get("path")


def _turns(body):
    """How many messages (Gemini's contents, the Responses API's input items) a body carries."""
    lists = [body.get(key) for key in ("messages", "contents", "input")] if isinstance(body, dict) else []
    return next((len(items) for items in lists if isinstance(items, list)), 0)


def _sent(request):
    """The request's fields as ccmatrix names them (method, path, body.a.b[0].c), and its turns."""
    view = {{"method": request.method, "path": re.sub(r"/locations/[^/]+/", "/locations/{{location}}/", re.sub(
        r"/projects/[^/]+/", "/projects/{{project}}/", httpx.URL(str(request.url)).path))}}

    def flatten(value, prefix):
        if value == {{}} or value == []:
            view[prefix] = value  # an empty object or list is a field too (`required: []`)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "anthropic_beta" and isinstance(item, list):
                    view.update({{f"{{prefix}}.{{key}}.{{flag}}": True for flag in item}})
                else:
                    flatten(item, f"{{prefix}}.{{key}}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                flatten(item, f"{{prefix}}[{{index}}]")
        else:
            view[prefix] = value

    body = _json(request.content)
    if body is None:
        return view, 0, None
    system = body.get("system") if isinstance(body, dict) else None
    if (isinstance(system, list) and system and isinstance(system[0], dict)
            and str(system[0].get("text", "")).startswith("x-anthropic-billing-header")):
        # Claude Code's billing line (per-call values) is left out, as ccmatrix leaves it
        # out: some releases forward it, some drop it, and it would shift every index
        body = {{**body, "system": system[1:]}}
    flatten(body, "body")
    return view, _turns(body), _conversation(body)


def _short(value):
    """A value as a report line can carry it: Claude Code's tool descriptions run to kilobytes."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


CRITERIA = {{
    "assistant_text": lambda answers: any(b.get("type") == "text" and b.get("text", "").strip()
                                          for a in answers for b in a["content"]),
    "tool_use_block": lambda answers: any(b.get("type") == "tool_use" for a in answers for b in a["content"]),
    "thinking_block": lambda answers: any(b.get("type") == "thinking" for a in answers for b in a["content"]),
    "input_json_delta": lambda answers: any(e.get("delta", {{}}).get("type") == "input_json_delta"
                                            for a in answers for e in a["events"]),
    "stream_events": lambda answers: sum(len(a["events"]) for a in answers) >= 2,
}}


def test_{test_name}(monkeypatch):
    _as_recorded(monkeypatch)
    with respx.mock(assert_all_called=False) as router:
        _mock(router)

        async def turns():
            answers, raised = [], []
            for number, turn in enumerate(EXPECTED["turns"]):
                before = len(router.calls)
                try:
                    answers.append(await _answer(turn))
                except Exception as error:  # the proxy hands Claude Code an error answer instead
                    # as recorded when the provider refused the request (an error status
                    # replayed) or LiteLLM refused it itself (no request upstream; one the
                    # recording sent is missed below); not when the provider answered it
                    calls = list(router.calls)[before:]
                    if calls and all(call.response is not None and call.response.status_code < 400 for call in calls):
                        raised.append(f"LiteLLM raised on Claude Code's turn #{{number}}, which the provider "
                                      f"answered: {{type(error).__name__}}: {{str(error).splitlines()[0][:200]}}")
            return answers, raised

        answers, raised = asyncio.run(turns())
        sent = [_sent(call.request) for call in router.calls]
    problems, changed = [], []
    for index, recorded in enumerate(EXPECTED["requests"]):
        # the request of the same turn, as ccmatrix pairs them: the same route, conversation
        # and number of messages; else the first left of the conversation on the route
        ours = [p for p in sent if _route(p[0]) == _route(recorded["fields"]) and _same(p[2], recorded["conversation"])]
        pair = next((p for p in ours if p[1] == recorded["turns"]), ours[0] if ours else None)
        if pair is None:
            problems.append(f"upstream request #{{index}} ({{recorded['route']}}) was not sent")
            continue
        sent.remove(pair)
        view = pair[0]
        for path, value in recorded["fields"].items():
            if path not in view:
                problems.append(f"{{path}} missing (recorded {{_short(value)}})")
            elif view[path] != value or type(view[path]) is not type(value):
                changed.append(f"{{path}} changed: {{_short(value)}} -> {{_short(view[path])}}")
    problems += raised  # after the requests' losses: a lost field is often why LiteLLM raised
    problems += [f"Claude Code stops on LiteLLM's answer: API Error: {{error}}" for answer in answers
                 for error in answer["refused"]]
    problems += [f"LiteLLM's answer fails the row's criterion {{name}}" for name in EXPECTED["criteria"]
                 if not CRITERIA[name](answers)]
    # what ccmatrix reports beside a verdict, not as one: a value LiteLLM changed (a lowered
    # max_tokens) and a request the recording never saw
    for finding in changed + [f"a request the recording never saw: {{v['method']}} {{v['path']}}" for v, _, _ in sent]:
        warnings.warn(finding)
    problems = list(dict.fromkeys(problems))  # one loss in several requests is said once
    shown = problems[:5] + ([f"and {{len(problems) - 5}} more"] if len(problems) > 5 else [])
    assert not problems, "; ".join(shown)
'''


def render(cell: catalog.CellTier, directory: str = "DIR") -> str:
    return TEMPLATE.format(
        cell_id=cell.id, feature_name=cell.feature.name, provider_name=cell.provider.name, tier_name=cell.tier.name,
        directory=directory, test_name=f"{cell.feature.id}_{cell.provider.id}_{cell.tier.id}")
