"""Bedrock Runtime emulator: a fake endpoint speaking the real wire protocol.

Also serves Bedrock Mantle (the Anthropic Messages API Bedrock uses for Claude Opus 4.7 and
later) on the same port: ``POST /anthropic/v1/messages`` and
``POST /anthropic/v1/messages/count_tokens``, SigV4 service ``bedrock-mantle`` (see mantle.py).

Real SigV4 verification (botocore's signer), real event-stream frames, realistic bodies,
headers and usage, deterministic replies, timing control and fault injection. Used by the
gateway's tests, ``make dev`` and docker-compose.

In-process::

    from kong_plugins.emulator import EmulatorServer, EmulatorSettings
    with EmulatorServer(EmulatorSettings(port=0)) as emu:
        emu.url                      # "http://127.0.0.1:<port>"
        emu.add_fault("throttle")    # same as POST /_emulator/faults {"type": "throttle"}
        emu.requests()               # same as GET /_emulator/requests

CLI: ``python -m kong_plugins.emulator --host 127.0.0.1 --port 8010``. Control API under
``/_emulator/``: health, settings (GET/PUT: timing, ``flex_latency_ms``, ``served_tier``; see
service_tiers.py), faults (GET/POST/DELETE), hold (GET: streams waiting at the gate; POST), release,
requests (GET/DELETE), stats (GET/DELETE), streams (GET: how many are being written now), connections
(GET: how many carried a model request), cache (DELETE), reset (POST).
"""

from .server import EmulatorServer
from .settings import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, EmulatorSettings

__all__ = ["EmulatorServer", "EmulatorSettings", "DEFAULT_ACCESS_KEY_ID", "DEFAULT_SECRET_ACCESS_KEY"]
