"""A run survives the processes it starts: LiteLLM or mitmdump killed or hung at
several points of a run costs at most the tier it hit, which is `error` (no verdict
on LiteLLM) naming the cell, the exit code or the hang and the log tail; the rest is
judged, the reports are written, nothing is left running, and the next run is
unaffected.

The faults are made by a RunObserver (the runner's own hooks, at a known step of a
known tier), so each test hits exactly the point it names; the command-line test
hangs LiteLLM from outside, as a user's machine would. The runs share one stack (the
module's `stack`), restarted by the run after each sabotage as its own would be: a test
pays for its restarts, not for a start of its own.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ccmatrix import catalog
from ccmatrix.proxy.litellm_fork import spawned_litellm
from ccmatrix.proxy.stack import Stack, Timeouts
from ccmatrix.recorder.mode import Upstream
from ccmatrix.run import runner
from ccmatrix.run.runner import RunOptions

pytestmark = pytest.mark.proxy
ROW, PROVIDER = "basic_messaging_streaming", "anthropic"
# Mid-stream sabotage needs the answer still on its way when the signal lands: replay's
# `events` chunking sends the provider's stream event by event. Answered in one write,
# LiteLLM can pass the whole answer on before a stop lands, and the client then reads it
# to the end (a hung-mid-stream tier passed so once, in a clean-clone run, 2026-12-07).
STREAMED_IN_PIECES = "events"


def _cells() -> list[catalog.CellTier]:
    return catalog.select([ROW], [PROVIDER], [])  # haiku, sonnet, opus


class Saboteur(runner.RunObserver):
    """Sends `sig` to one process (`target`: "litellm" or "mitmdump") of `stack` at one
    point: `when` is a (hook, tier id) pair, e.g. ("begin_cell", "sonnet"); `times` how often."""

    def __init__(self, stack: Stack, target: str, sig: int, when: tuple[str, str], times: int = 1) -> None:
        self.stack, self.target, self.sig, self.when, self.times = stack, target, sig, when, times
        self.hit: list[int] = []  # the pids it signalled
        self.restarts: list[str] = []

    def fire_now(self) -> None:
        part = self.stack.litellm if self.target == "litellm" else self.stack.mitmdump
        assert part is not None and part.process is not None
        self.hit.append(part.process.pid)
        os.killpg(part.process.pid, self.sig)
        if self.sig == signal.SIGKILL:
            part.process.popen.wait(10)

    def _fire(self, hook: str, tier: str) -> None:
        if (hook, tier) != self.when or self.times == 0:
            return
        self.times -= 1
        self.fire_now()

    def step(self, cell: catalog.CellTier, name: str, seconds: float) -> None:
        self._fire(name, cell.tier.id)

    def tier_done(self, result) -> None:  # type: ignore[no-untyped-def]
        self._fire("tier_done", result.tier)

    def stack_restarted(self, why: str) -> None:
        self.restarts.append(why)


@pytest.fixture(scope="module")
def stack(litellm_env):
    """One stack for this module's runs: each sabotage costs a restart, not a start. Its
    request timeout is short so that a hung LiteLLM costs seconds; the replay's own
    requests answer in well under a second. Stopped at the end, it leaves nothing running."""
    with Stack.start(Upstream.REPLAY, catalog.DEFAULT_CASSETTE_DIR, litellm_env, providers=[catalog.provider(PROVIDER)],
                     timeouts=Timeouts(request=10, health=3)) as stack:
        yield stack
        pids = [p.pid for p in stack.processes]
    assert not [pid for pid in pids if _running(pid)]


@pytest.fixture(autouse=True)
def _a_working_stack(request: pytest.FixtureRequest) -> None:
    """Each test on the shared stack starts on a working one: a test that failed half-way
    may have left it broken (a LiteLLM stopped and never restarted), and the next would
    fail for that."""
    if "stack" in request.fixturenames:
        stack: Stack = request.getfixturevalue("stack")
        if stack.faults(probe=True):
            stack.restart()


def _running(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _run(litellm_env, stack: Stack, saboteur: Saboteur, chunking: str | None = None) -> dict:
    """The three tiers' results by tier id. Whatever the saboteur signalled is gone (a
    restart stopped it, a hung one killed), and the stack runs again for the next test."""
    options = RunOptions(chunkings=(chunking,) if chunking else ())
    result = runner.execute(_cells(), litellm_env, options, observer=saboteur, stack=stack)
    assert saboteur.hit and not [pid for pid in saboteur.hit if _running(pid)]
    assert stack.faults(probe=True) == []
    return {t.tier: t for c in result.cells() for t in c.tiers}


def test_litellm_killed_during_a_tier(litellm_env, stack):
    saboteur = Saboteur(stack, "litellm", signal.SIGKILL, ("begin_cell", "sonnet"))
    tiers = _run(litellm_env, stack, saboteur)
    sonnet = tiers["sonnet"]
    assert sonnet.status == "error"
    assert f"run error during {ROW}/{PROVIDER}/sonnet" in sonnet.error
    assert "LiteLLM exited with code -9" in sonnet.error and "LiteLLM log tail" in sonnet.error
    assert "run again on a restarted stack, the tier completed: pass" in sonnet.error
    assert not sonnet.findings  # once is the run's fault, not the cell's
    assert tiers["haiku"].status == "pass" and tiers["opus"].status == "pass"
    assert len(saboteur.restarts) == 1


def test_twice_in_a_row_is_a_finding_on_the_cell(litellm_env, stack):
    saboteur = Saboteur(stack, "litellm", signal.SIGKILL, ("begin_cell", "haiku"), times=2)
    tiers = _run(litellm_env, stack, saboteur)
    haiku = tiers["haiku"]
    assert haiku.status == "error"
    assert [f.kind for f in haiku.findings] == ["proxy-crash"]
    assert haiku.findings[0].severity == "high" and "twice in a row" in haiku.findings[0].message
    assert tiers["sonnet"].status == "pass" and tiers["opus"].status == "pass"


def test_mitmdump_killed_during_a_tier(litellm_env, stack):
    saboteur = Saboteur(stack, "mitmdump", signal.SIGKILL, ("begin_cell", "opus"))
    tiers = _run(litellm_env, stack, saboteur)
    opus = tiers["opus"]
    assert opus.status == "error"
    assert "mitmdump exited with code -9" in opus.error and f"{ROW}/{PROVIDER}/opus" in opus.error
    assert tiers["haiku"].status == "pass" and tiers["sonnet"].status == "pass"


@pytest.mark.parametrize("when", [("before_the_run", ""), ("tier_done", "haiku")],
                         ids=["before-the-first-tier", "between-tiers"])
def test_litellm_killed_outside_a_tier_blames_no_tier(litellm_env, stack, when):
    saboteur = Saboteur(stack, "litellm", signal.SIGKILL, when)
    if when == ("before_the_run", ""):
        saboteur.fire_now()
    tiers = _run(litellm_env, stack, saboteur)
    assert {t: r.status for t, r in tiers.items()} == {"haiku": "pass", "sonnet": "pass", "opus": "pass"}
    assert len(saboteur.restarts) == 1 and saboteur.restarts[0].startswith("between cell tiers: LiteLLM exited")


def test_litellm_hung_during_a_tier(litellm_env, stack):
    saboteur = Saboteur(stack, "litellm", signal.SIGSTOP, ("begin_cell", "sonnet"))
    t0 = time.monotonic()
    tiers = _run(litellm_env, stack, saboteur)
    assert time.monotonic() - t0 < 120  # bounded: the request timeout, the probe, one restart
    sonnet = tiers["sonnet"]
    assert sonnet.status == "error"
    assert "LiteLLM stopped answering" in sonnet.error
    assert tiers["haiku"].status == "pass" and tiers["opus"].status == "pass"


class _KillingStream(httpx.SyncByteStream):
    """LiteLLM's answer to the client, read as it arrives; `kill` once byte `at` is in."""

    def __init__(self, inner: httpx.SyncByteStream, at: int, kill) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.at, self.kill = inner, at, kill

    def __iter__(self):  # type: ignore[no-untyped-def]
        seen = 0
        for chunk in self.inner:
            if seen < self.at <= seen + len(chunk):
                yield chunk[: self.at - seen]
                self.kill()
                yield chunk[self.at - seen:]
            else:
                yield chunk
            seen += len(chunk)

    def close(self) -> None:
        self.inner.close()


class MidStreamKiller(Saboteur):
    """Sends `sig` (SIGKILL, or SIGSTOP: a hang) to LiteLLM when the client has read byte
    `at` of its streamed answer in one tier."""

    def __init__(self, stack: Stack, tier: str, at: int, sig: int = signal.SIGKILL) -> None:
        super().__init__(stack, "litellm", sig, ("never", ""))
        self.tier, self.at, self.armed, self.fired_at = tier, at, False, None
        killer = self

        class Transport(httpx.HTTPTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                response = super().handle_request(request)
                if not killer.armed or "event-stream" not in response.headers.get("content-type", ""):
                    return response
                return httpx.Response(response.status_code, headers=response.headers,
                                      stream=_KillingStream(response.stream, killer.at, killer.fire), request=request)

        # the client's connection to LiteLLM, until the restart the kill brings makes a new one
        http = stack.http
        stack._http = httpx.Client(base_url=http.base_url, headers=http.headers, timeout=http.timeout,
                                   trust_env=False, transport=Transport())

    def step(self, cell: catalog.CellTier, name: str, seconds: float) -> None:
        if name == "begin_cell":
            self.armed = cell.tier.id == self.tier and self.fired_at is None

    def fire(self) -> None:
        self.armed, self.fired_at = False, self.at
        self.fire_now()


@pytest.mark.parametrize("at", [1, 300], ids=["first-byte", "byte-300"])
def test_litellm_killed_mid_stream_at_a_chosen_byte(litellm_env, stack, at):
    """Killed while the client reads a streamed answer: the tier is `error` (the stream
    broke, LiteLLM is gone), never a judged failure and never a traceback."""
    killer = MidStreamKiller(stack, "sonnet", at)
    tiers = _run(litellm_env, stack, killer, chunking=STREAMED_IN_PIECES)
    assert killer.fired_at == at
    sonnet = tiers["sonnet"]
    assert sonnet.status == "error", sonnet.error
    assert f"run error during {ROW}/{PROVIDER}/sonnet" in sonnet.error and "LiteLLM exited with code -9" in sonnet.error
    assert tiers["haiku"].status == "pass" and tiers["opus"].status == "pass"


def test_litellm_hung_mid_stream(litellm_env, stack):
    """Stopped while the client reads its stream: the read waits out the request timeout
    (bounded), the tier is `error` ("stopped answering"), the rest judged."""
    killer = MidStreamKiller(stack, "sonnet", 300, signal.SIGSTOP)
    t0 = time.monotonic()
    tiers = _run(litellm_env, stack, killer, chunking=STREAMED_IN_PIECES)
    assert killer.fired_at == 300 and time.monotonic() - t0 < 120
    sonnet = tiers["sonnet"]
    assert sonnet.status == "error" and "LiteLLM stopped answering" in sonnet.error, sonnet.error
    assert tiers["haiku"].status == "pass" and tiers["opus"].status == "pass"


# ------------------------------------------------------------------ the command


def _ours(tmp: Path) -> list[int]:
    """Pids of LiteLLM processes whose command line names `tmp` (this test's TMPDIR)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(tmp) in cmdline and "litellm-config.yaml" in cmdline:
            found.append(int(proc.name))
    return found


def _hang_litellm_once_ready(tmp: Path, deadline: float) -> int:
    while time.monotonic() < deadline:
        for pid in _ours(tmp):
            try:  # a process seen a moment ago may be gone (a wrapper that exec'd), or not yet the server
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                port = int(cmdline[cmdline.index(b"--port") + 1])
            except (OSError, ValueError, IndexError):
                continue
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/liveliness", timeout=1).status_code == 200:
                    # a second on: the run has seen it ready too (it polls every 0.2 s) and is
                    # judging cells; stopped before that, the run's own start would time out
                    time.sleep(1.0)
                    os.killpg(pid, signal.SIGSTOP)
                    return pid
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    raise AssertionError("LiteLLM never became ready")


def _leftovers(tmp: Path) -> list[str]:
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                state = (proc / "status").read_text()
            except OSError:
                continue
            if str(tmp) in cmdline and "zombie" not in state:
                out.append(cmdline)
    return out


def test_the_command_survives_a_hung_litellm_and_the_next_run_is_unaffected(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    # LiteLLM spawned as a user's run spawns it: this test finds it among the run's processes
    env = {**spawned_litellm(os.environ), "TMPDIR": str(tmp), "COLUMNS": "200"}
    # one stack: a second would only double the LiteLLM starts this test pays for (it runs twice)
    cmd = [sys.executable, "-m", "ccmatrix", "run", "-f", ROW, "--request-timeout", "10", "--jobs", "1",
           "--out", str(tmp_path / "out")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _hang_litellm_once_ready(tmp, time.monotonic() + 120)
    stdout, stderr = proc.communicate(timeout=400)
    assert proc.returncode == 2, stdout[-2000:] + stderr[-2000:]
    assert "Traceback" not in stderr + stdout
    # (10 s per request: the replay's own requests answer in well under a second, also under load)
    assert re.search(r"1 cell tier\(s\) not judged: the run broke during basic_messaging_streaming/\w+/\w+", stderr), \
        stderr[-3000:]
    matrix = json.loads((tmp_path / "out" / "compatibility-matrix.json").read_text())
    row = next(f for f in matrix["features"] if f["id"] == ROW)
    tiers = [(p, t, v) for p, cell in row["providers"].items() for t, v in cell["tiers"].items()]
    broken = [(p, t, v) for p, t, v in tiers if v["status"] == "error"]
    assert len(broken) == 1, broken
    provider, tier, entry = broken[0]
    assert f"run error during {ROW}/{provider}/{tier}: LiteLLM stopped answering" in entry["error"]
    assert row["providers"][provider]["status"] == "not_tested"
    assert row["providers"][provider]["reason"].startswith(f"run error: [{entry['model']}]")
    assert all(v["status"] == "pass" for p, t, v in tiers if (p, t) != (provider, tier))
    assert (tmp_path / "out" / "compatibility-matrix.html").is_file() and (tmp_path / "out" / "summary.md").is_file()
    assert "Run errors (1)" in (tmp_path / "out" / "summary.md").read_text()
    assert _leftovers(tmp) == []

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert _leftovers(tmp) == []
