"""A deterministic stand-in for the Claude model providers LiteLLM talks to.

`respond(EmulatedRequest) -> EmulatedResponse` answers like api.anthropic.com,
Azure AI Foundry, Vertex AI (plus Google's token endpoint) and Bedrock
(InvokeModel and Converse, streaming or not) would, with plainly synthetic text.
`EmulatorServer` (server.py) serves it over HTTP for a proxy to forward to.

Layout: plan.py decides what the reply says; anthropic_messages.py, vertex.py,
bedrock.py and converse.py render it in each provider's wire shape; router.py
dispatches by Host and path.
"""

from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse
from ccmatrix.emulator.router import respond

__all__ = ["EmulatedRequest", "EmulatedResponse", "EmulatorServer", "respond"]


def __getattr__(name: str):
    # Imported lazily: importing server here would make `python -m
    # ccmatrix.emulator.server` warn that the module was already imported.
    if name == "EmulatorServer":
        from ccmatrix.emulator.server import EmulatorServer

        return EmulatorServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
