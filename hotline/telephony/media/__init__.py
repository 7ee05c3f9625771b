"""Media workers: RTP, G.711, RFC 4733 key presses, playback, bridging, recording.

The call layer uses `engine.MediaEngine` (implemented by `engine.LocalMediaEngine`); everything else
here runs inside the worker processes or serves tests and benchmarks. Importing this package does no
work: workers start only when an engine is started."""
