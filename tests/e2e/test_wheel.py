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
from ccmatrix.proxy.litellm_fork import spawned_litellm
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
    # LiteLLM started as a user's run starts it (not forked by the suite's fork server)
    env = {k: v for k, v in spawned_litellm(os.environ).items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
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


def test_the_github_action_installs_from_its_checkout_and_gates_offline(tmp_path):
    """action.yml's own commands, run as GitHub runs a composite action's steps (the
    action's folder in GITHUB_ACTION_PATH, inputs through each step's env), in a brand-new
    virtual environment standing in for setup-python, with no network: ccmatrix installs
    from the checkout, the gate judges, the job summary is written."""
    import re

    import yaml

    wheels = wheelhouse_dir()
    if not any(wheels.glob("mitmproxy-*.whl")):
        _need(f"the wheelhouse {wheels}", "run `ccmatrix setup --wheelhouse` (scripts/test does)")
    if not shutil.which("unshare"):
        _need("unshare (util-linux)", "it keeps the install and the run off the network")
    action = yaml.safe_load((CHECKOUT_DIR / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert [s["uses"].split("@")[0] for s in steps if "uses" in s] == ["actions/setup-python", "actions/upload-artifact"]
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    inputs.update(base="1.83.14", head="1.83.14", args="-f thinking -p bedrock_invoke", out=str(tmp_path / "reports"))
    venv, summary, output = tmp_path / "venv", tmp_path / "step-summary.md", tmp_path / "step-output"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # LiteLLM started as the action's run starts it (not forked by the suite's fork server)
    base_env = {k: v for k, v in spawned_litellm(os.environ).items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    base_env.update(PATH=f"{venv}/bin:{os.environ['PATH']}", GITHUB_ACTION_PATH=str(CHECKOUT_DIR),
                    GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(output), PIP_NO_INDEX="1",
                    PIP_FIND_LINKS=str(wheels), PIP_DISABLE_PIP_VERSION_CHECK="1", COLUMNS="80")
    ran = []
    for step in (s for s in steps if "run" in s):
        env = dict(base_env)
        for name, value in (step.get("env") or {}).items():
            env[name] = re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m[1]], str(value))
        assert "${{" not in step["run"], f"{step.get('name')}: a run command reads inputs only through env"
        proc = subprocess.run(["unshare", "-rn", "bash", "-eo", "pipefail", "-c", "ip link set lo up; " + step["run"]],
                              env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
        ran.append((step.get("name"), proc.returncode))
        assert proc.returncode == 0, (step.get("name"), proc.stdout[-3000:], proc.stderr[-3000:])
    assert [name for name, _ in ran] == ["Install ccmatrix from the action's own checkout", "Judge", "Job summary"]
    site = next(venv.glob("lib/python*/site-packages"))
    assert (site / "ccmatrix" / "_bundled" / "known-issues.yaml").exists()  # a real install, not the checkout
    assert "ccmatrix gate: ✅ no regression" in summary.read_text()
    assert "Pre-existing" in summary.read_text()  # 1.83.14's own red thinking cell on Invoke
    assert output.read_text().strip() == f"summary={tmp_path / 'reports'}/summary.md"
    assert (tmp_path / "reports" / "gate.html").exists()
