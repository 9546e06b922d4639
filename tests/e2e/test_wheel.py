"""A wheel of ccmatrix runs on its own: built from this tree, installed into a brand-new
virtual environment, and run from a folder that is not the checkout, with no network.

What the wheel must carry for that: the recorder addon mitmdump loads, the bundled
cassettes and known-issues.yaml (package data). Its dependencies come from the
wheelhouse `ccmatrix setup --wheelhouse` filled (scripts/test does), and the whole
install and run happen in a network namespace that has only a loopback interface.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from ccmatrix.bundled import CHECKOUT_DIR
from ccmatrix.wheelhouse import wheelhouse_dir

pytestmark = pytest.mark.proxy


def _need(thing: str, why: str) -> None:
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{thing} is missing (CI is set): {why}")
    pytest.skip(f"{thing} is missing: {why}")


def test_wheel_installs_and_runs_a_cell_offline_from_another_folder(tmp_path):
    wheels = wheelhouse_dir()
    if not any(wheels.glob("mitmproxy-*.whl")):
        _need(f"the wheelhouse {wheels}", "run `ccmatrix setup --wheelhouse` (scripts/test does)")
    if not shutil.which("unshare"):
        _need("unshare (util-linux)", "it keeps the install and the run off the network")
    dist, venv, elsewhere = tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    index = ["--no-index", "--find-links", str(wheels)]
    script = " && ".join([
        "ip link set lo up",
        # build isolation takes the build backend from the wheelhouse too
        f"{sys.executable} -m pip wheel -q --no-deps {' '.join(index)} -w {dist} {CHECKOUT_DIR}",
        f"{sys.executable} -m venv {venv}",
        f"{venv}/bin/pip install -q {' '.join(index)} {dist}/ccmatrix-*.whl",
        f"cd {elsewhere}",
        f"{venv}/bin/ccmatrix run -f basic_messaging_non_streaming -p anthropic --out X",
        f"{venv}/bin/python -c 'import ccmatrix.bundled as b; print(\"cassettes:\", b.cassette_dir())'",
    ])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    proc = subprocess.run(["unshare", "-rn", "sh", "-c", script], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # it ran the installed copy, with its own data, not this checkout's
    site = next(venv.glob("lib/python*/site-packages"))
    assert (site / "ccmatrix" / "recorder" / "script" / "ccmatrix_recorder.py").exists()
    assert (site / "ccmatrix" / "_bundled" / "known-issues.yaml").exists()
    assert f"cassettes: {site / 'ccmatrix' / '_bundled' / 'cassettes'}" in proc.stdout
    matrix = json.loads((elsewhere / "X" / "compatibility-matrix.json").read_text())
    row = next(f for f in matrix["features"] if f["id"] == "basic_messaging_non_streaming")
    assert row["providers"]["anthropic"]["status"] == "pass", row
    assert [t["status"] for t in row["providers"]["anthropic"]["tiers"].values()] == ["pass"] * 3
    assert (elsewhere / "X" / "compatibility-matrix.html").exists() and (elsewhere / "X" / "summary.md").exists()
