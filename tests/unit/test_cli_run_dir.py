"""The CLI's run folder is fixed (its path is in the CLI's prompts), so one run at a time
holds it and each run finds it as a first start does. A shell script stands in for the
binary here: what is under test is the driver's locking and reset, not the CLI."""

from __future__ import annotations

import fcntl
import threading
import time

from ccmatrix.catalog.features import CliRun
from ccmatrix.client import cli_driver


def _script(tmp_path, body: str):
    path = tmp_path / "claude"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def test_a_run_finds_none_of_the_previous_run_s_state(tmp_path):
    seen = tmp_path / "seen"
    binary = _script(tmp_path, f'ls -A "$CLAUDE_CONFIG_DIR" >> {seen}; echo ---- >> {seen}; '
                               'touch "$CLAUDE_CONFIG_DIR/left-behind" "$TMPDIR/left-behind"')
    for _ in range(2):
        cli_driver.run_cli(binary, CliRun("hi", timeout=10), "anthropic", "m", "http://127.0.0.1:9", "t")
    first, second, _ = seen.read_text().split("----\n")
    assert first.split() == second.split() == [".claude.json"]


def test_runs_wait_for_the_run_folder(tmp_path):
    started = tmp_path / "started"
    binary = _script(tmp_path, f"date +%s.%N > {started}")
    with cli_driver.RUN_LOCK.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process's run, as far as flock is concerned
        worker = threading.Thread(target=cli_driver.run_cli, args=(
            binary, CliRun("hi", timeout=10), "anthropic", "m", "http://127.0.0.1:9", "t"))
        worker.start()
        time.sleep(1.0)
        assert not started.exists(), "the CLI started while another run held the run folder"
        released = time.time()
    worker.join(timeout=20)
    assert float(started.read_text()) >= released


def test_the_cli_s_environment_does_not_follow_the_caller_s_shell(monkeypatch, tmp_path):
    # the CLI writes its shell into the system prompt ("Shell: unknown" without SHELL):
    # a caller's SHELL, or none, must not change the requests it records
    envs = []
    for shell in ("/bin/zsh", None):
        if shell:
            monkeypatch.setenv("SHELL", shell)
        else:
            monkeypatch.delenv("SHELL", raising=False)
        monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
        envs.append(cli_driver.environment("http://127.0.0.1:9", "t", tmp_path, tmp_path, {}))
    assert envs[0] == envs[1]
    assert envs[0]["SHELL"] == "/bin/bash" and "LC_ALL" not in envs[0]
