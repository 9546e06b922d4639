"""The emulator over real HTTP/1.1, for a proxy (mitmproxy) to forward requests to.

The proxy keeps the original Host header (Bedrock's SigV4 signs it), so one
server on one loopback port answers for every provider: routing is by Host.
Streams go out with chunked transfer-encoding, one event per chunk, flushed
one by one, so whatever sits in between sees events arrive separately.

    with EmulatorServer() as srv:
        httpx.post(f"{srv.url}/v1/messages", headers={"Host": "api.anthropic.com", ...})

Standalone: python -m ccmatrix.emulator.server --port 8765
"""

from __future__ import annotations

import argparse
import collections
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

from ccmatrix.catalog.faults import STALL_HOLD_SECONDS
from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, json_response
from ccmatrix.emulator.router import respond

__all__ = ["EmulatorServer", "main"]

Responder = Callable[[EmulatedRequest], EmulatedResponse]

# framing headers are the server's business, whatever the responder put in
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


class EmulatorServer:
    """respond() on 127.0.0.1:<free port>, in a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Responder = respond,
        chunk_delay: float = 0.0,
        log: bool = False,
        stall_hold: float = STALL_HOLD_SECONDS,
    ) -> None:
        self.responder = responder
        self.chunk_delay = chunk_delay  # seconds between stream chunks (to mimic event gaps)
        self.stall_hold = stall_hold  # how long a stalled stream stays open at most
        self.log = log
        self.requests: list[EmulatedRequest] = []  # every request served, in arrival order
        self._attempts: collections.Counter[str] = collections.Counter()  # request seed -> times seen
        self._lock = threading.Lock()
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self._httpd.server_address[0]

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "EmulatorServer":
        if self._thread is None:
            # a short poll interval keeps stop() (and so every test using the server) fast
            self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="ccmatrix-emulator", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the CLI)."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def _record(self, req: EmulatedRequest) -> None:
        with self._lock:
            req.attempt = self._attempts[req.seed]
            self._attempts[req.seed] += 1
            self.requests.append(req)

    def reset_attempts(self) -> None:
        """Forget earlier attempts: a new cell's faults start from its first attempt."""
        with self._lock:
            self._attempts.clear()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # an open keep-alive connection must not block shutdown
    owner: EmulatorServer

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that hung up (a reset idle keep-alive connection, a stream left): not ours to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked responses
    server: _HTTPServer
    server_version = "ccmatrix-emulator"
    sys_version = ""

    def do_POST(self) -> None:
        self._serve()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_POST

    def log_message(self, format: str, *args: object) -> None:
        if self.server.owner.log:
            super().log_message(format, *args)

    def _serve(self) -> None:
        owner = self.server.owner
        host, path = self._target()
        req = EmulatedRequest(
            method=self.command,
            host=host,
            path=path,
            headers=dict(self.headers.items()),
            body=self._read_body(),
        )
        owner._record(req)
        try:
            response = owner.responder(req)
        except Exception as exc:  # a bug in a route must not look like a hung upstream
            response = json_response(500, {"error": {"type": "emulator_error", "message": f"{type(exc).__name__}: {exc}"}})
        try:
            self._write(response, owner.chunk_delay)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-answer

    def _target(self) -> tuple[str, str]:
        """(host, path+query): the Host header, or an absolute-form request line."""
        if self.path.startswith(("http://", "https://")):
            parts = urlsplit(self.path)
            return parts.netloc, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return self.headers.get("Host", f"{self.server.server_address[0]}"), self.path

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()  # the CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _write(self, response: EmulatedResponse, chunk_delay: float) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        head_only = self.command == "HEAD"
        if not response.streamed:
            body = response.body
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head_only:
                self.wfile.write(body)
            self.wfile.flush()
            return
        if response.cut_after is not None:
            self.send_header("Connection", "close")
            self.end_headers()
            if not head_only:
                for chunk in response.chunks[: response.cut_after]:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        if head_only:
            return
        for i, chunk in enumerate(response.chunks[: response.stall_after]):
            if i and chunk_delay:
                time.sleep(chunk_delay)
            if chunk:  # an empty chunk would end the body early
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        if response.stall_after is not None:
            self._stall(self.server.owner.stall_hold)
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _stall(self, hold: float) -> None:
        """Send nothing more, keeping the connection open until the client closes it or
        `hold` seconds pass; then close it with the body unfinished."""
        deadline = time.monotonic() + hold
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.connection], [], [], min(left, 0.5))
            if readable and not self.connection.recv(65536, socket.MSG_PEEK):
                break  # the client closed its end
            if readable:
                self.connection.recv(65536)  # a pipelined request on a stalled answer: dropped
        self.close_connection = True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ccmatrix.emulator.server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between stream chunks")
    parser.add_argument("--log", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)
    server = EmulatorServer(args.host, args.port, chunk_delay=args.chunk_delay, log=args.log)
    print(f"ccmatrix emulator listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
