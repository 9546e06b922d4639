"""The recorder stage: the mitmproxy addon between LiteLLM and the providers.

addon.py      the addon: one class, its mitmproxy hooks (record / emulate / replay)
protocol.py   the control channel's messages, shared with the driver (ccmatrix.proxy.stack)
record.py     wire traffic -> cassette records (redacted, decoded)
match.py      replay matching: which recording answers a request, or the error that says why none
chunking.py   replay: how a streamed answer is cut into network writes (--chunkings)
delivery.py   replay: the loopback server that writes those pieces apart
script/       the file mitmdump loads with -s
"""
