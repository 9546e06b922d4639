"""Build hook: the wheel carries the bundled cassettes and known-issues.yaml as package data.

Only for a real wheel: an editable install (a checkout) reads them where they are,
so they are not copied into site-packages as a second, stale set.
ccmatrix/bundled.py finds whichever is there.
"""

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUNDLED = {"cassettes": "ccmatrix/_bundled/cassettes", "known-issues.yaml": "ccmatrix/_bundled/known-issues.yaml"}


class BundleData(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name == "wheel" and version == "standard":
            build_data["force_include"].update(BUNDLED)
