"""``python -m tests.kong_harness`` - run the Kong stand-in until SIGINT/SIGTERM (``make dev``).

Why: local development without Docker needs a long-running "kong" with the
same configuration files; on a signal it stops the plugin server (SIGTERM,
as plugin_servers.stop does) and exits with nothing left running.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .harness import HarnessStartError, KongHarness


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.kong_harness", description=__doc__)
    p.add_argument("--conf", dest="kong_conf", default=None, help="kong.conf-format file")
    p.add_argument("--declarative-config", default=None, help="DB-less kong.yaml")
    p.add_argument("--prefix", default=None, help="Kong prefix directory (created if missing)")
    p.add_argument("--proxy-listen", default="127.0.0.1:8000")
    p.add_argument("--status-listen", default="127.0.0.1:8100")
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args(argv)

    if args.prefix:
        os.makedirs(args.prefix, exist_ok=True)
    harness = KongHarness(
        declarative_config=args.declarative_config, kong_conf=args.kong_conf,
        env={k: v for k, v in os.environ.items() if k.startswith("KONG_")},
        process_env=dict(os.environ), prefix=args.prefix, proxy_listen=args.proxy_listen,
        status_listen=args.status_listen, workers=args.workers, echo_log=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        harness.start()
    except HarnessStartError as e:
        print("Error: %s" % e, file=sys.stderr, flush=True)
        return 1
    print("kong harness (Kong 3.6.1 stand-in) proxy %s status %s" % (harness.proxy_url, harness.status_url),
          file=sys.stderr, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        harness.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
