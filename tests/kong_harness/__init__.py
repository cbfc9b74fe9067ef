"""Kong Gateway OSS 3.6.1 stand-in for tests (see harness.py and .specs/harness.md)."""
from .harness import HarnessStartError, KongHarness

__all__ = ["KongHarness", "HarnessStartError"]
