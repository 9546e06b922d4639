"""The recorder's mitmproxy addons, composed in one entry script (../script/ccmatrix_recorder.py).

mitmdump listens twice: as a reverse proxy in front of LiteLLM (the client leg) and as
LiteLLM's HTTPS proxy (the provider leg). mitmproxy calls each hook on every addon in
turn; each addon takes the flows that are its own and leaves the rest:

control_channel.py  ControlChannel  /health, /cell/begin, /cell/end; owns the cell in progress and the options
client_leg.py       ClientLegTap    what the client sends LiteLLM, and LiteLLM's answer
provider_gate.py    ProviderGate    host -> provider; foreign hosts refused; the contract and credential check
replay.py           Replay          replay: answers from the cassettes, delivered under the cell's chunking
forward.py          Forward         emulate, live: forwards (to the emulator, or the real provider), records
state.py            what they share (RecorderState) and what one flow carries between hooks (FlowState)
flows.py            small things done with a flow (where it goes, answering it, teeing its stream)

The mode (ccmatrix.recorder.mode.Upstream) is asked questions (does it record? answer
from the cassettes? forward to the emulator?), never compared by name.
"""

from ccmatrix.recorder.addons.client_leg import ClientLegTap
from ccmatrix.recorder.addons.control_channel import ControlChannel
from ccmatrix.recorder.addons.forward import Forward
from ccmatrix.recorder.addons.provider_gate import ProviderGate
from ccmatrix.recorder.addons.replay import Replay
from ccmatrix.recorder.addons.state import RecorderState

__all__ = ["ClientLegTap", "ControlChannel", "Forward", "ProviderGate", "RecorderState", "Replay"]
