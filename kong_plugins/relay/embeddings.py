"""The relay's side of OpenAI embeddings: the model's InvokeModel calls (Titan: one per text;
Cohere: 96 texts each), a few at a time.

The first call goes alone, so a request Bedrock refuses (a bad `dimensions`, a model the
account may not use) costs one call, not one per text. The rest run `CONCURRENCY` at a
time on the relay's gevent loop; after a failure no further call starts, and the whole
request fails with it (the client gets no partial list it could mistake for a complete one).
"""

from __future__ import annotations

import time
from dataclasses import replace

from gevent.pool import Pool

from kong_plugins.bedrock.client import BedrockClient
from kong_plugins.bedrock.retries import RetryBudget
from kong_plugins.context import Usage
from kong_plugins.formats.errors import ErrorKind
from kong_plugins.formats.embedding_models import Vectors
from kong_plugins.relay.attempts import Failure, call_with_retries
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.clock import RelayClock

CONCURRENCY = 8
"""Calls in flight per request: enough to hide Bedrock's latency, few enough not to be throttled."""
_UNREADABLE = Failure(ErrorKind.UPSTREAM_ERROR, "Bedrock returned a response the gateway could not read.",
                      "MalformedResponse")


def embed_all(client: BedrockClient, budget: RetryBudget, call: UpstreamCall,
              clock: RelayClock) -> tuple[Vectors, Usage] | Failure:
    """Every text's vector in order and the tokens they cost, or the first failure."""
    assert call.embedding is not None
    bodies = call.embedding.bodies
    model = call.embedding.model
    stopped = False

    def embed(body: bytes, timing: RelayClock) -> tuple[Vectors, int] | Failure | None:
        nonlocal stopped
        if stopped:
            return None
        outcome = call_with_retries(client, budget, replace(call, body=body), timing)
        if not isinstance(outcome, Failure):
            try:
                return model.read(outcome.content, outcome.headers)
            except (ValueError, AttributeError):
                outcome = _UNREADABLE
        stopped = True
        return outcome

    results = [embed(bodies[0], clock)]
    if len(bodies) > 1 and not isinstance(results[0], Failure):
        began = time.perf_counter()
        results += Pool(CONCURRENCY).imap(lambda body: embed(body, RelayClock()), bodies[1:])
        clock.add_waiting(time.perf_counter() - began)   # the calls overlap: their wall time, not their sum
    failure = next((r for r in results if isinstance(r, Failure)), None)
    if failure is not None:
        return failure
    pairs = [r for r in results if isinstance(r, tuple)]
    return [vector for vectors, _ in pairs for vector in vectors], Usage(input=sum(tokens for _, tokens in pairs))
