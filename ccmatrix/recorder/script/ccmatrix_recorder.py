"""The file mitmdump loads: the recorder's addons, from the installed package.

    mitmdump -s ccmatrix/recorder/script/ccmatrix_recorder.py --set connection_strategy=lazy \
        --set ccmatrix_upstream=replay|emulate|live --set ccmatrix_cassettes=cassettes/

(ccmatrix.proxy.mitmdump starts it so; by hand, from a checkout, the same line works.)
Upstreams: replay answers from the cassettes and never forwards; emulate forwards to
ccmatrix's provider emulator on loopback and records; live forwards to the real provider
and records. Requests to hosts of no provider are refused in every mode. Without a
driver, `--set ccmatrix_cell=feature/provider/tier` records one cell tier and writes its
cassette when mitmdump exits.
"""

from ccmatrix.recorder.addons import ClientLegTap, ControlChannel, Forward, ProviderGate, RecorderState, Replay

state = RecorderState()  # the cell in progress and the options, shared by the addons
# In this order: each hook runs on every addon in turn, and each addon leaves the flows
# an earlier one took (the control host's, then the client leg's) or answered.
addons = [ControlChannel(state), ClientLegTap(state), ProviderGate(state), Replay(state), Forward(state)]
