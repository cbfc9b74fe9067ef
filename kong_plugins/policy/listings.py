"""Bedrock control-plane listings answered from the catalogue, filtered by role.

Claude Code in Bedrock mode calls ListInferenceProfiles (`GET
/inference-profiles`) on the gateway's base URL; AWS SDK users may call
ListFoundationModels, and clients handed an application inference profile ARN
call GetInferenceProfile (`GET /inference-profiles/{id}`) to learn which model
it serves (LangChain's ChatBedrockConverse, for one). Shapes per botocore's
`bedrock` service model.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from kong_plugins.policy.catalogue import CatalogueEntry
from kong_plugins.relay.call import foundation_model_id

PROFILE_TYPES = ("SYSTEM_DEFINED", "APPLICATION")


def inference_profiles(entries: list[CatalogueEntry], region: str, query: str = "") -> dict[str, Any]:
    """ListInferenceProfiles: `entries` as the caller's role calls them (Catalogue.for_role), so its application
    profiles are listed too. `query`'s `type` keeps one kind (unset: both). ValueError for another type."""
    wanted = parse_qs(query).get("type", [None])[-1]
    if wanted is not None and wanted not in PROFILE_TYPES:
        raise ValueError(f"type: must be one of {', '.join(PROFILE_TYPES)}.")
    return {"inferenceProfileSummaries": [p for p in _profiles(entries, region) if wanted in (None, p["type"])]}


def inference_profile(entries: list[CatalogueEntry], region: str, identifier: str) -> dict[str, Any] | None:
    """GetInferenceProfile by id or ARN, among the profiles the caller's role may call; None if not one."""
    return next((p for p in _profiles(entries, region)
                 if identifier in (p["inferenceProfileId"], p["inferenceProfileArn"])), None)


def _profiles(entries: list[CatalogueEntry], region: str) -> list[dict[str, Any]]:
    profiles = []
    for entry in entries:
        base = foundation_model_id(entry.bedrock_id)
        if base != entry.bedrock_id:   # the catalogue names a system (cross-region) profile
            where = entry.region or region
            profiles.append(_profile(entry, "SYSTEM_DEFINED", entry.bedrock_id,
                                     f"arn:aws:bedrock:{where}::inference-profile/{entry.bedrock_id}", where, base))
        if entry.profile_arn:
            profiles.append(_profile(entry, "APPLICATION", entry.profile_arn.rsplit("/", 1)[1], entry.profile_arn,
                                     entry.invocation_region or region, base))
    return profiles


def _profile(entry: CatalogueEntry, kind: str, profile_id: str, arn: str, where: str, base: str) -> dict[str, Any]:
    """One InferenceProfileSummary (GetInferenceProfile's answer has the same members)."""
    description = f"Gateway model {entry.name}" + (
        ", through your role's application inference profile" if kind == "APPLICATION" else "")
    return {"inferenceProfileName": entry.name, "inferenceProfileId": profile_id, "inferenceProfileArn": arn,
            "status": "ACTIVE", "type": kind, "description": description,
            "models": [{"modelArn": _model_arn(where, base)}]}


def _model_arn(region: str, model_id: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


_OUTPUT_MODALITIES = {"embedding": "EMBEDDING", "image": "IMAGE"}
"""What a catalogue kind's model answers with, as ListFoundationModels says it (others: TEXT)."""
_NOT_STREAMED = frozenset({"embedding", "image", "rerank"})


def foundation_models(entries: list[CatalogueEntry], region: str) -> dict[str, Any]:
    summaries = []
    for entry in entries:
        base = foundation_model_id(entry.bedrock_id)
        provider = base.split(".", 1)[0]
        output = _OUTPUT_MODALITIES.get(entry.kind, "TEXT")
        summaries.append({
            "modelArn": _model_arn(entry.region or region, base), "modelId": base,
            "modelName": entry.name, "providerName": provider.capitalize(),
            "inputModalities": ["TEXT", "IMAGE"] if provider == "anthropic" else ["TEXT"],
            "outputModalities": [output], "responseStreamingSupported": entry.kind not in _NOT_STREAMED,
            "inferenceTypesSupported": ["INFERENCE_PROFILE" if base != entry.bedrock_id else "ON_DEMAND"],
            "modelLifecycle": {"status": "ACTIVE"}})
    return {"modelSummaries": summaries}
