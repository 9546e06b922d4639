"""The recorder stage: the mitmproxy addon that records, emulates or replays provider traffic."""
