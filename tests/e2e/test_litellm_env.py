"""Where the LiteLLM under test comes from: `resolve()` of a release, an environment
path, a python executable, and the failures (`--litellm` exits 2 with their message).

Tests marked `proxy` use ccmatrix's shared cache of uv environments and may have
to install LiteLLM 1.83.14 once (~10-20 s with uv, from the package index).
Failure tests run against a throwaway CCMATRIX_CACHE, so a failed install can
never disturb the shared cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccmatrix.fsutil import cache_dir
from ccmatrix.proxy.litellm_env import DEFAULT_LITELLM_VERSION, LiteLLMEnvError, installed_version, resolve

OTHER_RELEASE = "1.83.14"  # the release the field notes compare against the default
MISSING_RELEASE = "9.9.9"  # not on the index


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "ccmatrix-cache"
    monkeypatch.setenv("CCMATRIX_CACHE", str(cache))
    return cache


@pytest.fixture(scope="module")
def other_release():
    """LiteLLM 1.83.14 from the shared cache (installed there the first time)."""
    return resolve(OTHER_RELEASE)


def _leftovers(cache: Path) -> list[str]:
    """What a resolve left in the cache's envs/ (an empty lock file is no environment)."""
    envs = cache / "envs"
    return sorted(p.name for p in envs.iterdir() if not p.name.endswith(".lock")) if envs.exists() else []


# ---------------------------------------------------------------- releases


@pytest.mark.proxy
def test_release_resolves_to_its_cached_environment(other_release):
    env = other_release
    assert env.version == OTHER_RELEASE
    assert env.python == cache_dir() / "envs" / f"litellm-{OTHER_RELEASE}" / "bin" / "python"
    assert env.python.exists()
    assert (env.python.parent.parent / ".ccmatrix-complete").read_text().split()[0] == OTHER_RELEASE
    assert OTHER_RELEASE in env.label and str(env.python) in env.label
    # a second resolve is a cache hit: no install, the same environment
    assert resolve(OTHER_RELEASE, install=False) == env


@pytest.mark.proxy
def test_installed_version_is_what_the_environment_reports(other_release):
    assert installed_version(other_release.python) == OTHER_RELEASE
    # and the Vertex token exchange's dependency came along
    proc = subprocess.run([str(other_release.python), "-c", "import google.auth, litellm.proxy.proxy_cli"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.proxy
def test_default_release_is_the_catalog_pin(litellm_env):
    assert litellm_env.version == DEFAULT_LITELLM_VERSION
    assert installed_version(litellm_env.python) == DEFAULT_LITELLM_VERSION


# ---------------------------------------------------------------- paths


@pytest.mark.proxy
def test_path_to_an_environment_directory(other_release):
    env_dir = other_release.python.parent.parent
    env = resolve(str(env_dir))
    assert env.python == env_dir / "bin" / "python"
    assert env.version == OTHER_RELEASE


@pytest.mark.proxy
def test_path_to_a_python_executable(other_release):
    env = resolve(str(other_release.python))
    assert env.python == other_release.python
    assert env.version == OTHER_RELEASE


def test_path_with_tilde_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(LiteLLMEnvError) as info:
        resolve("~/no-such-env")
    assert str(tmp_path / "no-such-env" / "bin" / "python") in str(info.value)


def test_nonexistent_path_names_what_it_looked_for(tmp_path: Path):
    missing = tmp_path / "nonexistent"
    with pytest.raises(LiteLLMEnvError) as info:
        resolve(str(missing))
    message = str(info.value)
    assert "neither a release number" in message
    assert str(missing / "bin" / "python") in message


def test_environment_without_litellm_is_refused():
    # ccmatrix's own environment: LiteLLM deliberately never shares it
    with pytest.raises(LiteLLMEnvError) as info:
        resolve(sys.executable)
    assert "has no litellm installed" in str(info.value)
    with pytest.raises(LiteLLMEnvError):
        installed_version(Path(sys.executable))


# ---------------------------------------------------------------- failed installs


def test_release_not_installed_and_install_disabled(private_cache: Path):
    with pytest.raises(LiteLLMEnvError) as info:
        resolve(OTHER_RELEASE, install=False)
    assert OTHER_RELEASE in str(info.value)
    assert _leftovers(private_cache) == []


def test_half_built_environment_is_not_taken_for_a_release(private_cache: Path):
    """A directory without the completion mark (an interrupted build from an older
    ccmatrix, a copy in progress) never counts as installed."""
    target = private_cache / "envs" / f"litellm-{OTHER_RELEASE}"
    (target / "bin").mkdir(parents=True)
    (target / "bin" / "python").symlink_to(sys.executable)
    with pytest.raises(LiteLLMEnvError, match="is not installed"):
        resolve(OTHER_RELEASE, install=False)


def test_failed_install_names_the_release_and_leaves_nothing(private_cache: Path, monkeypatch: pytest.MonkeyPatch):
    # offline: uv resolves from its cache only, so the failure is immediate and
    # needs no index; the staging directory must still be cleaned up
    import ccmatrix.fsutil as fsutil  # where the staging directory is made

    monkeypatch.setenv("UV_OFFLINE", "1")
    staged: list[Path] = []
    real_mkdtemp = fsutil.tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        staged.append(Path(real_mkdtemp(*args, **kwargs)))
        return str(staged[-1])

    monkeypatch.setattr(fsutil.tempfile, "mkdtemp", mkdtemp)
    with pytest.raises(LiteLLMEnvError) as info:
        resolve(MISSING_RELEASE)
    assert f"installing litellm {MISSING_RELEASE} failed" in str(info.value)
    assert len(staged) == 1 and staged[0].parent == private_cache / "envs"  # it did start building ...
    assert _leftovers(private_cache) == []  # ... and removed the staging directory


def test_release_missing_from_the_index(private_cache: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("UV_OFFLINE", "1")  # uv answers from its cache: no test reaches the index
    with pytest.raises(LiteLLMEnvError) as info:
        resolve(MISSING_RELEASE)
    message = str(info.value)
    assert f"installing litellm {MISSING_RELEASE} failed" in message
    assert f"litellm[proxy]=={MISSING_RELEASE}" in message  # uv's own reason, passed on
    assert _leftovers(private_cache) == []


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize("spec, expected", [
    ("/nonexistent", "neither a release number"),
    (MISSING_RELEASE, f"installing litellm {MISSING_RELEASE} failed"),
])
def test_run_with_a_bad_litellm_exits_2(spec: str, expected: str, private_cache: Path, tmp_path: Path):
    env = {**os.environ, "CCMATRIX_CACHE": str(private_cache), "UV_OFFLINE": "1", "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "ccmatrix", "run", "--litellm", spec, "--out", str(tmp_path / "out"),
         "-f", "basic_messaging_streaming", "-p", "anthropic", "-t", "haiku"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert expected in " ".join(proc.stderr.split())
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written
    assert _leftovers(private_cache) == []
