"""Where the LiteLLM under test comes from: a cached uv environment per release, per
source tree (a checkout's working tree or one of its commits, litellm_source.py), or
an existing Python environment the user names.

LiteLLM never shares ccmatrix's own environment: its [proxy] extra pins
cryptography>=49, mitmproxy 11.0.2 pins cryptography<44.1. A separate environment
per release is also what makes `--litellm 1.83.14` and bisecting cheap.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ccmatrix.bundled import DEFAULT_CASSETTE_DIR, BundleError
from ccmatrix.cassette import recorded_with
from ccmatrix.catalog import layout
from ccmatrix.errors import CcmatrixError
from ccmatrix.fsutil import build_once, cache_dir
from ccmatrix.proxy import litellm_constraints, litellm_source, package_index


def _bundled_release() -> str:
    """The release the bundled cassettes were recorded with (cassettes/recorded-with.json)."""
    recorded = recorded_with.read(DEFAULT_CASSETTE_DIR)
    if recorded is None:
        raise BundleError(f"{layout.recorded_with_path(DEFAULT_CASSETTE_DIR)}: missing; it names the LiteLLM "
                          "release the bundled cassettes stand for (ccmatrix record writes it)")
    return recorded.litellm


# The LiteLLM release `ccmatrix run` replays against when none is named: the one the
# bundled cassettes were recorded with, so that the two never drift apart.
DEFAULT_LITELLM_VERSION = _bundled_release()

_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:[.\-]?(?:post|rc|a|b|dev)\d+)?$")
_COMPLETE_MARK = ".ccmatrix-complete"
PROVENANCE = ".ccmatrix-env.json"  # how a release environment was built: as of when, what was pinned
# What a production proxy serving Vertex AI has besides litellm[proxy]: google-auth for
# the token exchange, and the Vertex SDK some releases import (1.83.14's count_tokens).
_EXTRA_PACKAGES = ("google-auth", "google-cloud-aiplatform")


class LiteLLMEnvError(CcmatrixError):
    pass


@dataclass(frozen=True)
class LiteLLMEnv:
    python: Path
    version: str
    source: str | None = None  # built from a source tree: which (litellm_source.SourceTree.label)
    # a source tree's Python packages, put before the environment's on LiteLLM's PYTHONPATH
    overlay: Path | None = None
    base_release: str | None = None  # the release whose environment a source tree runs in
    added_requirements: tuple[str, ...] = ()  # what the tree declares beyond that release
    tree: litellm_source.SourceTree | None = None  # the source tree itself (repository, commit, tree hash)

    @property
    def identity(self) -> str:
        """What makes two environments run the same LiteLLM: the interpreter environment
        and, for a source tree, the tree's content."""
        parts = [self.version, str(self.python)]
        if self.tree is not None:
            parts += [f"tree {self.tree.tree}", *self.added_requirements]
        return " | ".join(parts)

    @property
    def label(self) -> str:
        built = provenance(self)
        relaxed = built.get("relaxed", [])
        changed = [*built.get("pins", []), *(f"{o} (override)" for o in built.get("overrides", []))]
        where = f"{self.source}; {self.python}" if self.source else str(self.python)
        if relaxed:
            where += f"; relaxed: {', '.join(relaxed)}"
        if self.overlay is not None:
            where += f"; over litellm {self.base_release}'s environment"
            if self.added_requirements:
                where += f" with {', '.join(self.added_requirements)}"
        return f"litellm {self.version} ({where}" + (f"; pinned {', '.join(changed)})" if changed else ")")


def resolve(spec: str | None = None, *, install: bool = True) -> LiteLLMEnv:
    """`spec`: None (the default release), a release ("1.83.14"), a LiteLLM git checkout
    (its working tree), `CHECKOUT@REF` (one of its commits), or a path to a Python
    environment (its directory or its python executable)."""
    spec = spec or DEFAULT_LITELLM_VERSION
    if spec == "latest":
        spec = latest_release()
    if _VERSION.match(spec):
        return _release_env(spec, install=install)
    source = litellm_source.source_of(spec)
    if source is not None:
        return _source_env(source, install=install)
    path = Path(spec).expanduser()
    python = path if path.is_file() else path / "bin" / "python"
    if not python.exists():
        raise LiteLLMEnvError(
            f"--litellm {spec!r} is neither a release number (like 1.83.14), a LiteLLM checkout (PATH or "
            f"PATH@REF) nor a Python environment (no {python})"
        )
    return LiteLLMEnv(python=python, version=installed_version(python))


def latest_release() -> str:
    """The newest final LiteLLM release the package index serves (the live run's choice)."""
    try:
        finals = package_index.final_versions(package_index.versions("litellm"))
    except package_index.PackageIndexError as exc:
        raise LiteLLMEnvError(f"--litellm latest: the package index cannot say which release is newest ({exc})") \
            from None
    if not finals:
        raise LiteLLMEnvError(f"--litellm latest: the package index ({package_index.index_url()}) lists no final "
                              "litellm release")
    return str(finals[-1])


def installed_version(python: Path) -> str:
    proc = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise LiteLLMEnvError(f"{python} has no litellm installed: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout.strip()


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        raise LiteLLMEnvError("uv is not installed (it is a ccmatrix dependency: pip install uv)")
    return found


def _mark(version: str) -> str:
    # the mark names the packages too: an env built with fewer extras is rebuilt
    return " ".join([version, *_EXTRA_PACKAGES]) + "\n"


def _complete(target: Path, version: str) -> bool:
    mark = target / _COMPLETE_MARK
    return mark.exists() and mark.read_text() == _mark(version)


def _release_env(version: str, *, install: bool) -> LiteLLMEnv:
    target = cache_dir() / "envs" / f"litellm-{version}"
    python = target / "bin" / "python"
    if _complete(target, version):
        return LiteLLMEnv(python=python, version=version)
    if not install:
        raise LiteLLMEnvError(f"litellm {version} is not installed in {target}")
    build_once(target, lambda: _complete(target, version), lambda staging: _build(version, staging))
    return LiteLLMEnv(python=python, version=version)


def _build(version: str, staging: Path) -> None:
    """litellm[proxy]==version resolved as of the release's publication, with the known
    constraints' pins."""
    _build_env(staging, version, f"litellm[proxy]=={version}", published_at(version), version)


def _source_env(source: litellm_source.SourceTree, *, install: bool) -> LiteLLMEnv:
    """A LiteLLM source tree, as LiteLLM's repository holds it (a maturin build with a
    Rust crate, a uv workspace whose members a checkout may lack, `exclude-newer`), run
    without building it: the tree's Python packages laid over the environment of the
    release it derives from (`litellm_source.overlay`), whose wheel gives the compiled
    Rust extension and whose resolution gives the dependencies. When the tree declares
    other dependencies than that release, they are installed into an environment of
    their own (keyed by the declarations, resolved as of a day after the commit), so a
    pull request that changes no requirement reuses the release's environment as is."""
    src = litellm_source.snapshot(source)
    version = litellm_source.tree_version(src)
    base_version = litellm_source.base_release(version, _index_releases())
    base = _release_env(base_version, install=install)
    declared = litellm_source.declared_requirements(src)
    added = litellm_source.requirements_added(declared, release_requirements(base))
    env_python = base.python
    if added:
        deps = litellm_source.requirements_key(added)
        key = f"{base_version} deps {deps}"
        target = cache_dir() / "envs" / f"litellm-{base_version}-deps-{deps}"
        env_python = target / "bin" / "python"
        if not _complete(target, key):
            if not install:
                raise LiteLLMEnvError(f"litellm {source.label}: its dependencies are not installed in {target}")
            stamp = datetime.fromisoformat(source.date).astimezone(timezone.utc) + timedelta(days=1)
            build_once(target, lambda: _complete(target, key), lambda staging: _build_env(
                staging, base_version, f"litellm[proxy]=={base_version}", published_at(base_version), key,
                also=(added, stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))))
    overlay = litellm_source.overlay(source, src, _site_packages(env_python))
    imports = overlay / ".ccmatrix-imports"  # checked once per tree and environment
    if not imports.exists():
        failure = _import_failure(env_python, overlay)
        if failure is not None:
            raise LiteLLMEnvError(f"litellm {source.label}: its proxy does not import over litellm {base_version}'s "
                                  f"environment ({failure.strip().splitlines()[-1]})")
        imports.write_text("litellm.proxy.proxy_server\n")
    return LiteLLMEnv(python=env_python, version=version, source=source.label, overlay=overlay,
                      base_release=base_version, added_requirements=tuple(added), tree=source)


def _site_packages(python: Path) -> Path:
    found = sorted((python.parent.parent / "lib").glob("python3*/site-packages"))
    if not found:
        raise LiteLLMEnvError(f"{python}: no site-packages beside it")
    return found[0]


def release_requirements(env: LiteLLMEnv) -> list[str]:
    """What the release installed in `env` declares: its dependencies and its [proxy] extra's."""
    from importlib.metadata import PathDistribution

    infos = list(_site_packages(env.python).glob("litellm-*.dist-info"))
    if not infos:
        raise LiteLLMEnvError(f"{env.python}: no litellm installed")
    return list(PathDistribution(infos[0]).requires or [])


def _index_releases() -> list[str] | None:
    """The litellm releases the package index has, or None when it cannot be asked
    (offline: the tree's own version is taken as its release)."""
    if os.environ.get("UV_OFFLINE"):
        return None
    try:
        return package_index.versions("litellm", timeout=10) or None
    except package_index.PackageIndexError:
        return None


def _build_env(staging: Path, version: str, requirement: str, as_of: str | None, key: str,
               also: tuple[list[str], str] | None = None) -> None:
    """`requirement` installed as of `as_of` with the known constraints' pins for
    `version`; then its proxy imported once, and repaired by the fallbacks when it does
    not import. What was done is kept in the environment (PROVENANCE).

    `also`: requirements a source tree declares beyond its release's, installed after it
    as of the given date (a day after the tree's commit)."""
    uv = _uv()
    python = staging / "bin" / "python"
    pins = litellm_constraints.known_pins(version)
    _run([uv, "venv", "--quiet", "--relocatable", "--python", sys.executable, str(staging)], version)
    overrides = litellm_constraints.known_overrides(version)
    relaxed: list[litellm_constraints.Relaxation] = []
    while True:  # relax, one at a time, what the release pins and the index does not serve
        replaced = [*overrides, *(r.override for r in relaxed)]
        resolution = ["--exclude-newer", as_of] if as_of else []
        if replaced:
            (staging / "overrides.txt").write_text("\n".join(replaced) + "\n")
            resolution += ["--override", str(staging / "overrides.txt")]
        proc = subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), *resolution,
                               requirement, *_EXTRA_PACKAGES, *pins], capture_output=True, text=True)
        if proc.returncode == 0:
            break
        output = proc.stderr or proc.stdout
        fix = litellm_constraints.relaxation(output, _index_versions)
        if fix is None or fix.override in replaced or len(relaxed) >= _MAX_RELAXATIONS:
            tail = "\n".join(output.strip().splitlines()[-8:])
            raise LiteLLMEnvError(f"installing litellm {version} failed:\n{tail}")
        relaxed.append(fix)
    if also is not None:
        _run([uv, "pip", "install", "--quiet", "--python", str(python), "--exclude-newer", also[1], *also[0]],
             version)
    repaired: list[str] = []
    failure = _import_failure(python)
    while failure is not None:
        fixes = litellm_constraints.fallbacks(failure, pins)
        if not fixes:
            raise LiteLLMEnvError(
                f"litellm {version}: its proxy does not import ({failure.strip().splitlines()[-1]}); no known "
                "constraint avoids it (ccmatrix/proxy/litellm_constraints.py)")
        for fix in fixes:
            _run([uv, "pip", "install", "--quiet", "--python", str(python), *fix.pins], version)
            pins += fix.pins
            repaired += fix.pins
        failure = _import_failure(python)
    provenance = {"litellm": version, "requirement": requirement, "resolved_as_of": as_of, "pins": list(pins),
                  "overrides": list(overrides), "relaxed": [r.describe() for r in relaxed], "repaired_with": repaired,
                  "tree_requirements": list(also[0]) if also else []}
    (staging / PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n")
    (staging / _COMPLETE_MARK).write_text(_mark(key))


_MAX_RELAXATIONS = 8


def _index_versions(package: str) -> list[str]:
    """The versions the package index has of `package` (none when it cannot be asked)."""
    try:
        return package_index.versions(package, timeout=15)
    except package_index.PackageIndexError:
        return []


def _import_failure(python: Path, overlay: Path | None = None) -> str | None:
    """The output of importing LiteLLM's proxy when that fails, else None (`overlay`: a
    source tree's packages, laid over the environment)."""
    environ = {"PATH": os.environ.get("PATH", ""), "HOME": "/tmp", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    if overlay is not None:
        environ["PYTHONPATH"] = str(overlay)
    try:
        proc = subprocess.run([str(python), "-c", "import litellm.proxy.proxy_server"], capture_output=True,
                              text=True, timeout=300, env=environ)
    except subprocess.TimeoutExpired:
        return "importing litellm.proxy.proxy_server took over 300 s"
    return None if proc.returncode == 0 else (proc.stderr or proc.stdout)


def published_at(version: str) -> str | None:
    """When the release was uploaded to the package index (PEP 691 JSON), or None when
    the index does not say (then the environment is resolved as of now)."""
    try:
        files = package_index.project("litellm").get("files") or []
    except package_index.PackageIndexError:
        return None
    prefix = (f"litellm-{version}-", f"litellm-{version}.tar")
    stamps = sorted(f["upload-time"] for f in files if f.get("filename", "").startswith(prefix) and f.get("upload-time"))
    if not stamps:
        return None
    # a day after the last file of the release: its own files are in, later releases of its dependencies are not
    last = datetime.fromisoformat(stamps[-1].replace("Z", "+00:00")) + timedelta(days=1)
    return last.strftime("%Y-%m-%dT%H:%M:%SZ")


def provenance(env: LiteLLMEnv) -> dict:
    """How a cached release environment was built (empty for one the user made)."""
    path = env.python.parent.parent / PROVENANCE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _run(cmd: list[str], version: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise LiteLLMEnvError(f"installing litellm {version} failed:\n{tail}")
