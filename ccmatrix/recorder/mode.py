"""Where the provider leg's answers come from: the record mode, in one place (as vcrpy's
RecordMode). Everything that depends on the mode asks it a question here instead of
comparing its name."""

from __future__ import annotations

from enum import Enum


class Upstream(str, Enum):
    REPLAY = "replay"  # answer from the cassettes, never forward
    EMULATE = "emulate"  # forward to ccmatrix's provider emulator (loopback), record
    LIVE = "live"  # forward to the real provider, record

    @property
    def records(self) -> bool:
        """Whether the cell's traffic is written to its cassette."""
        return self is not Upstream.REPLAY

    @property
    def answers_from_cassettes(self) -> bool:
        """Whether the provider leg is answered from the cassettes (nothing is forwarded)."""
        return self is Upstream.REPLAY

    @property
    def forwards(self) -> bool:
        """Whether provider requests go on upstream (to the emulator or the real provider)."""
        return self is not Upstream.REPLAY

    @property
    def forwards_to_emulator(self) -> bool:
        """Whether "upstream" is ccmatrix's provider emulator on loopback, not the provider."""
        return self is Upstream.EMULATE

    @property
    def source(self) -> str:
        """What a cassette recorded in this mode says answered (cassette provenance `source`)."""
        return "live" if self is Upstream.LIVE else "emulator"

    @property
    def holds_credentials(self) -> bool:
        """Offline, ccmatrix holds each request to the run's credential mode; live, the
        provider itself judges them."""
        return self is not Upstream.LIVE

    @property
    def keeps_read_sizes(self) -> bool:
        """A real provider's stream cuts are kept (the `recorded` chunking replays them);
        the emulator's are ours, one event per write."""
        return self is Upstream.LIVE

    @property
    def run_label(self) -> str:
        """The matrix JSON's `mode`."""
        return "replay" if self is Upstream.REPLAY else f"record-{self.value}"

    def __str__(self) -> str:
        return self.value


UPSTREAMS: tuple[str, ...] = tuple(m.value for m in Upstream)
