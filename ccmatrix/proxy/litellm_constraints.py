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
A release that cannot install as published (it pins a version the index does not
have) gets an override instead: uv replaces the release's own requirement with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import Version


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
    Constraint(
        releases="==1.104.9",
        pins=(),
        overrides=("litellm-proxy-extras==0.4.102.post1",),
        avoids=r"litellm-proxy-extras==0\.4\.102\.post2",
        found="bench/release_sweep.py, 2026-12-01: `litellm[proxy]==1.104.9` does not install, it pins "
              "litellm-proxy-extras==0.4.102.post2, which the index does not have (it has 0.4.102 and "
              "0.4.102.post1). Overridden by the post1 of the same release (the package carries the proxy's "
              "database migrations; the proxy runs without a database here).",
    ),
    Constraint(
        releases="==1.109.3",
        pins=(),
        overrides=("litellm-proxy-extras==0.4.110", "litellm-enterprise==0.1.82"),
        avoids=r"litellm-proxy-extras==0\.4\.113|litellm-enterprise==0\.1\.82\.post1",
        found="bench/release_sweep.py, 2026-12-01: `litellm[proxy]==1.109.3` does not install, it pins "
              "litellm-proxy-extras==0.4.113 and litellm-enterprise==0.1.82.post1, neither of which the index "
              "has (its newest litellm-proxy-extras is 0.4.110; litellm-enterprise has 0.1.82, no post1). "
              "Overridden by those (the database migrations package, and the release the post1 repackages).",
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
