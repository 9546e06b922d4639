"""The loopback server that delivers a replayed stream in separate writes.

mitmproxy sends an answer made by an addon in one piece. To let LiteLLM's reads
see the cuts a chunking makes (ccmatrix.recorder.chunking), the addon parks the
answer here under a one-time token and points the flow at this server, which
writes each piece with a pause between (mitmproxy streams the flow through, so
the pieces stay apart). A token is served once: a retried request is a new
request, answered afresh by the addon.
"""

from __future__ import annotations

import secrets
import threading

from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, json_response
from ccmatrix.emulator.server import EmulatorServer

__all__ = ["DeliveryServer"]

# Long enough that a reader on loopback has taken the previous piece before the
# next is written (a read cannot return bytes not yet sent), short enough that a
# few hundred pieces cost well under a second.
PIECE_GAP_SECONDS = 0.002


class DeliveryServer:
    HEADER = "x-ccmatrix-delivery"

    def __init__(self, gap: float = PIECE_GAP_SECONDS) -> None:
        self._parked: dict[str, EmulatedResponse] = {}
        self._lock = threading.Lock()
        self._server = EmulatorServer(responder=self._respond, chunk_delay=gap).start()

    @property
    def port(self) -> int:
        return self._server.port

    def add(self, response: EmulatedResponse) -> str:
        token = secrets.token_hex(8)
        with self._lock:
            self._parked[token] = response
        return token

    def stop(self) -> None:
        self._server.stop()

    def _respond(self, req: EmulatedRequest) -> EmulatedResponse:
        with self._lock:
            response = self._parked.pop(req.header(self.HEADER) or "", None)
        if response is None:
            return json_response(502, {"error": "ccmatrix: no parked replay answer for this request"})
        return response
