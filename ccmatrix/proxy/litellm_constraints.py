"""What a LiteLLM release needs beside it for its proxy to start.

A release's wheel allows ranges (`fastapi>=0.136.3,<1.0`), and a dependency released
later can break it. A release environment is therefore resolved as of the release's
publication (uv `--exclude-newer`), then these known constraints apply: each is data,
a release range and the pins it needs, with the import error it avoids and how that
was found. When a freshly built proxy still does not import, every constraint whose
error matches is tried as a fallback (`fallbacks`), whatever its range; what was
pinned is written into the environment's provenance (`.ccmatrix-env.json`).

Add a constraint when `ccmatrix run --litellm X` stops with an ImportError: pin the
newest dependency release that still has what LiteLLM imports, and say how you know.
A release that cannot install as published (it pins a package or version the index
does not have) needs no row: `relaxation` below stands in for the requirement
generically; an override row is for the rare case it cannot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from ccmatrix.proxy import package_index


@dataclass(frozen=True)
class Constraint:
    releases: str  # the LiteLLM releases it applies to up front: a PEP 440 specifier set
    pins: tuple[str, ...]  # requirements installed beside litellm[proxy]
    avoids: str  # a regular expression for the import (or install) error it avoids
    found: str  # the evidence: how the failure was seen and the pin chosen
    # requirements that replace the release's own (uv --override): for a release that
    # pins a version the package index does not have, so it cannot install as published
    overrides: tuple[str, ...] = ()

    def applies_to(self, version: str) -> bool:
        return Version(version) in SpecifierSet(self.releases)

    def avoids_error(self, output: str) -> bool:
        return re.search(self.avoids, output) is not None


CONSTRAINTS: tuple[Constraint, ...] = (
    Constraint(
        releases="==1.97.0",
        pins=("fastapi==0.140.0",),
        avoids=r"cannot import name 'get_flat_dependant' from 'fastapi\.dependencies\.utils'",
        found="`ccmatrix run --litellm 1.97.0` exits 2: `ImportError: cannot import name 'get_flat_dependant' "
              "from 'fastapi.dependencies.utils'` (imported by litellm/proxy/management_endpoints/"
              "management_v1/common.py). 1.97.0 (published 2026-08-16) allows fastapi>=0.136.3,<1.0; "
              "fastapi 0.140.0 still has the function, 0.140.13 and 0.141.1 do not; resolving as of the "
              "publication date still picks 0.141.1. Pinning 0.140.0 makes the proxy import (ccmatrix issue 12).",
    ),
)


def known_overrides(version: str) -> tuple[str, ...]:
    """The overrides the table gives a release (uv --override)."""
    return tuple(o for c in CONSTRAINTS if c.applies_to(version) for o in c.overrides)


def known_pins(version: str) -> tuple[str, ...]:
    """The pins the table gives a release up front."""
    return tuple(pin for c in CONSTRAINTS if c.applies_to(version) for pin in c.pins)


def fallbacks(import_output: str, tried: tuple[str, ...] = ()) -> list[Constraint]:
    """Constraints whose error the failed import shows, not yet tried, in table order."""
    return [c for c in CONSTRAINTS if c.avoids_error(import_output) and not set(c.pins) <= set(tried)]


# ---------------------------------------------------------------- relaxing what the index lacks
# A release can pin what the package index does not serve (1.104.9: litellm-proxy-extras
# ==0.4.102.post2; 1.109.3: litellm-enterprise==0.1.82.post1; 1.110.x: a `litellm-proxy`
# package the index does not know at all). Read from uv's resolver error, each such
# requirement is relaxed generically: a package the index does not have is left out (its
# proxy import, checked after, says whether the release needed it: 1.110.2's wheel carries
# litellm/proxy/ itself), a version it does not have becomes the nearest one it has at or
# below (a .postN's release, an older build). What was relaxed is kept in the environment's
# provenance and named on the run's first line.

NEVER = "sys_platform == 'ccmatrix-never'"  # an override with this marker drops the requirement
_NOT_FOUND = re.compile(r"Because (?P<name>[A-Za-z0-9_.\-]+) was not found in the package registry")
_NO_VERSION = re.compile(r"there (?:is|are) no versions? of (?P<name>[A-Za-z0-9_.\-]+)==(?P<version>[A-Za-z0-9_.+\-]+)")


@dataclass(frozen=True)
class Relaxation:
    package: str
    wanted: str | None  # the version the release pins; None: the package is not on the index
    override: str  # the uv override that stands in for the requirement

    def describe(self) -> str:
        if self.wanted is None:
            return f"{self.package} left out (not on the package index)"
        return f"{self.override} (for =={self.wanted}, which the index lacks)"


def relaxation(resolver_error: str, available: Callable[[str], list[str]]) -> Relaxation | None:
    """What stands in for the first requirement the resolver says the index cannot meet;
    `available(package)` lists the versions the index has."""
    found = _NOT_FOUND.search(resolver_error)
    if found:
        name = found["name"]
        return Relaxation(name, None, f"{name} ; {NEVER}")
    missing = _NO_VERSION.search(resolver_error)
    if missing:
        name, wanted = missing["name"], missing["version"]
        try:
            target = Version(wanted)
        except InvalidVersion:
            return None
        at_or_below = [v for v in package_index.final_versions(available(name)) if v <= target]
        if not at_or_below:
            return None
        return Relaxation(name, wanted, f"{name}=={at_or_below[-1]}")
    return None
