"""When to retry a Bedrock call, decided by botocore's own standard retry mode.

botocore's StandardRetryConditions know which errors are transient or
throttling (ThrottlingException, 5xx, connection errors...), its
ExponentialBackoff adds full jitter, and its RetryQuotaChecker is a token
bucket shared by all requests of the process: when Bedrock is throttling
hard, retries stop quickly instead of multiplying the load (the "bounded
retry budget").
"""

from __future__ import annotations

import botocore.session
from botocore.retries import quota, standard


class RetryBudget:
    """Process-wide retry policy for relay calls to Bedrock."""

    def __init__(self, max_attempts: int = 3) -> None:
        self.conditions = standard.StandardRetryConditions(max_attempts=max_attempts)
        self.backoff = standard.ExponentialBackoff()
        self.quota = standard.RetryQuotaChecker(quota.RetryQuota())
        model = botocore.session.get_session().get_service_model("bedrock-runtime")
        self.operation = model.operation_model("InvokeModel")

    def call(self) -> CallRetries:
        """Retry state for one client request (its attempts share a quota context)."""
        return CallRetries(self)


class CallRetries:
    def __init__(self, budget: RetryBudget) -> None:
        self.budget = budget
        self.attempt = 1
        self._request_context: dict = {}

    def delay(self, *, status: int | None = None, error_code: str | None = None,
              exception: Exception | None = None) -> float | None:
        """Seconds to wait before the next attempt, or None: do not retry."""
        context = standard.RetryContext(
            attempt_number=self.attempt, operation_model=self.budget.operation,
            parsed_response={"Error": {"Code": error_code}} if error_code else None,
            http_response=_StatusOnly(status) if status is not None else None, caught_exception=exception,
            request_context=self._request_context)
        if not self.budget.conditions.is_retryable(context) or not self.budget.quota.acquire_retry_quota(context):
            return None
        self.attempt += 1
        return self.budget.backoff.delay_amount(context)

    def succeeded(self) -> None:
        """Give quota back, as botocore does after a 2xx."""
        self.budget.quota.release_retry_quota(self._request_context, _StatusOnly(200))


class _StatusOnly:
    """The one attribute botocore's retry checks read from an HTTP response."""

    def __init__(self, status: int) -> None:
        self.status_code = status
