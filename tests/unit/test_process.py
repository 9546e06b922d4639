"""The ports ccmatrix gives the processes it starts: never where the kernel hands out the
local ports of outgoing connections, so no connection can take one before its listener
binds it (LiteLLM binds seconds after the choice, its import first)."""

from __future__ import annotations

import socket

from ccmatrix.proxy import process


def _ephemeral_low() -> int:
    return int(process._EPHEMERAL_RANGE.read_text().split()[0])


def test_ports_are_below_the_ephemeral_range_distinct_and_free():
    ports = [process.free_port() for _ in range(40)]
    assert len(set(ports)) == len(ports)  # stacks started side by side never share one
    assert all(1024 <= p < _ephemeral_low() for p in ports)
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # free when handed out


def test_a_port_in_use_is_passed_over_and_a_crowded_range_falls_back_to_the_kernel(monkeypatch):
    listeners = [socket.socket() for _ in range(2)]
    try:
        for s in listeners:
            s.bind(("127.0.0.1", 0))
            s.listen()
        taken = [s.getsockname()[1] for s in listeners]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        monkeypatch.setattr(process, "_listen_ports", lambda: [*taken, free])
        monkeypatch.setattr(process, "_chosen", set())
        assert process.free_port() == free
        # all three now in use or handed out: any free port, as the kernel picks one
        fallback = process.free_port()
        assert fallback not in (*taken, free)
    finally:
        for s in listeners:
            s.close()
