"""The recorder stage: the mitmproxy addons between LiteLLM and the providers, and what
the driver needs to talk to them and to write what they recorded.

addons/       the addons (control channel, client-leg tap, provider gate, replay, forward)
script/       the file mitmdump loads with -s: the addons, composed
mode.py       the upstream (replay, emulate, live), asked questions instead of compared by name
control.py    the control channel's messages (Health, BeginCell, Ok, ErrorReply)
exchanges.py  what a cell tier caused (CellEnd and its exchanges): what the verdict judges
session.py    the cell tier in progress (CellSession), a cassette as replay consults it (Recording)
record.py     wire traffic -> cassette records (redacted, decoded)
write.py      the cassette and the auth cassettes, written from a CellEnd (the driver's job)
match.py      replay matching: which recording answers a request, or the error that says why none
chunking.py   replay: how a streamed answer is cut into network writes (--chunkings)
delivery.py   replay: the loopback server that writes those pieces apart
"""
