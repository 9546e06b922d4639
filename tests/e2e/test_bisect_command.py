"""`ccmatrix bisect` for real: two LiteLLM releases, one of which drops the effort field."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.proxy
def test_bisect_command_names_the_release_that_drops_effort():
    proc = subprocess.run(
        [sys.executable, "-m", "ccmatrix", "bisect", "-f", "thinking", "-p", "vertex_ai", "-t", "opus",
         "--candidates", "1.108.7,1.83.14"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "last good: 1.108.7" in proc.stdout and "first bad: 1.83.14" in proc.stdout
    assert "body.output_config.effort missing" in proc.stdout
