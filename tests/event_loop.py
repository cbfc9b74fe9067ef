"""How much of the gevent event loop's time a piece of work leaves to the loop's other greenlets."""

from typing import Any, Callable

import gevent


def ticks_while(work: Callable[[], Any]) -> tuple[int, Any]:
    """How often a greenlet that asks to run every millisecond (as the relay's streams do) ran while `work` did,
    and what `work` returned. Work that keeps the loop's thread the whole time leaves it 0."""
    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            gevent.sleep(0.001)

    running = gevent.spawn(ticker)
    gevent.sleep(0)
    before = len(ticks)
    result = work()
    during = len(ticks) - before
    running.kill()
    return during, result
