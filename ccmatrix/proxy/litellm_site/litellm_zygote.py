"""A LiteLLM fork server, run as a script by a LiteLLM environment's own interpreter
(ccmatrix is not installed there: standard library only). Started by
ccmatrix/proxy/litellm_fork.py, never imported by ccmatrix (nor by LiteLLM: this folder
is on its PYTHONPATH for sitecustomize, and nothing imports this name).

It imports LiteLLM's proxy once (most of a start: 7 of 7.7 CPU-seconds for 1.110.2,
bench/litellm_start_bench.py), then forks a child per request that runs LiteLLM's own
command-line entry (`proxy_cli.run_server`, what the `litellm` script calls) with the
request's arguments, environment, working folder and log file.

    python litellm_zygote.py SOCKET        # prints "ready" once it listens

On SOCKET, one connection per child. The caller sends one JSON line
{"argv": [...], "env": {...}, "cwd": ..., "log": ...}; the server answers
{"pid": N} once forked, then {"exit": code} when the child ends (the code as
subprocess reports it: -9 for SIGKILL). The child is a session leader, so the caller
signals its process group as it would a process it spawned itself. A caller that hangs
up before the child ended gets its child killed, group and all; when this server's
stdin closes (its owner is gone), it kills every child and exits.
"""

import json
import os
import selectors
import signal
import socket
import sys
import traceback

import litellm.proxy.proxy_cli as proxy_cli
import litellm.proxy.proxy_server  # noqa: F401  (the import a start spends most of its time in)

REAP_INTERVAL = 0.1  # seconds between checks for ended children


def _read_request(conn):  # as litellm_fork._read_line, which this interpreter cannot import
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("the caller hung up before its request was complete")
        data += chunk
    return json.loads(data)


def _run_child(request):
    """In the forked child: become what `litellm ARGS` started by the caller would be."""
    os.setsid()  # its own process group, as ccmatrix's spawn gives a process it starts
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.closerange(3, 65536)  # the server's socket, its callers' connections, its stdin pipe
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = list(request["argv"])
    try:
        proxy_cli.run_server.main(args=sys.argv[1:], prog_name="litellm")
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _send(conn, message):
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass  # the caller is gone


def _kill(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def serve(path):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin, selectors.EVENT_READ, "owner")
    children = {}  # pid -> the caller's connection
    print("ready", flush=True)
    while True:
        for key, _ in selector.select(REAP_INTERVAL):
            if key.data == "accept":
                conn, _ = server.accept()
                try:
                    request = _read_request(conn)
                except (OSError, ValueError) as error:
                    _send(conn, {"error": str(error)})
                    conn.close()
                    continue
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    _run_child(request)
                children[pid] = conn
                selector.register(conn, selectors.EVENT_READ, pid)
                _send(conn, {"pid": pid})
            elif key.data == "owner":
                if not os.read(sys.stdin.fileno(), 4096):
                    for pid in children:
                        _kill(pid)
                    for pid in list(children):
                        os.waitpid(pid, 0)
                    return
            else:  # a caller's connection: it says nothing more, so this is a hang-up
                try:
                    gone = not key.fileobj.recv(4096)
                except OSError:
                    gone = True
                if gone:
                    selector.unregister(key.fileobj)
                    _kill(key.data)
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn is not None:
                _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
                try:
                    selector.unregister(conn)
                except (KeyError, ValueError):
                    pass
                conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
