"""Which Amazon Bedrock guardrails a role may apply through Bedrock's ApplyGuardrail.

The rule is the one a role's model calls already follow (README "Amazon Bedrock Guardrails per role"): a role
with a `bedrock_guardrail` goes through that guardrail and no other (its native clients cannot swap it for their
own), so it may apply only that guardrail, at that version; a role without one may name any guardrail on its
native calls, so it may apply any (the gateway's IAM role still limits which exist for it, and budgets pay for
the text units). A guardrail is named by its id or its ARN, which name the same guardrail.
"""

from __future__ import annotations

from botocore.utils import ArnParser, InvalidArnException

from kong_plugins.policy.catalogue import RolePolicy

REFUSED = ("Your role may apply only the Amazon Bedrock guardrail its calls go through, at the version they use "
           "(the gateway's operators choose it).")
"""The AccessDeniedException's message: no identifier in it (the client's, or the role's, which is the operators')."""


def refusal(role: RolePolicy, identifier: str, version: str) -> str | None:
    """Why `role` may not apply guardrail `identifier` at `version` (None: it may)."""
    own = role.guardrail
    if own is None or (same_guardrail(own.identifier, identifier) and own.version == version):
        return None
    return REFUSED


def same_guardrail(configured: str, named: str) -> bool:
    """Whether two identifiers name one guardrail: equal, or an ARN and the id it ends with (two ARNs must be
    equal: the same id in another account or region is another guardrail)."""
    if configured == named:
        return True
    if is_arn(configured) and is_arn(named):
        return False
    return guardrail_id(configured) == guardrail_id(named)


def is_arn(identifier: str) -> bool:
    return identifier.startswith("arn:")


def guardrail_id(identifier: str) -> str:
    """The id a guardrail ARN ends with (`arn:aws:bedrock:<region>:<account>:guardrail/<id>`), or the id itself."""
    return identifier.rpartition(":guardrail/")[2] if is_arn(identifier) else identifier


def arn_place(identifier: str) -> tuple[str, str] | None:
    """The partition and region a guardrail ARN names (ApplyGuardrail goes there: a guardrail lives in one region,
    and a partition's endpoints take only its own credentials); None for an id, or an ARN naming neither."""
    if not is_arn(identifier):
        return None
    try:
        arn = ArnParser().parse_arn(identifier)
    except InvalidArnException:
        return None
    return (arn["partition"], arn["region"]) if arn["partition"] and arn["region"] else None
