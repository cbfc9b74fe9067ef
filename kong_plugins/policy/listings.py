"""Bedrock control-plane listings answered from the catalogue, filtered by role.

Claude Code in Bedrock mode calls ListInferenceProfiles (`GET
/inference-profiles`) on the gateway's base URL; AWS SDK users may call
ListFoundationModels. Shapes per botocore's `bedrock` service model.
"""

from __future__ import annotations

from typing import Any

from kong_plugins.policy.catalogue import CatalogueEntry
from kong_plugins.relay.call import foundation_model_id


def inference_profiles(entries: list[CatalogueEntry], region: str) -> dict[str, Any]:
    summaries = []
    for entry in entries:
        base = foundation_model_id(entry.bedrock_id)
        if base == entry.bedrock_id:
            continue   # a plain model id, not an inference profile
        where = entry.region or region
        summaries.append({
            "inferenceProfileName": entry.name, "inferenceProfileId": entry.bedrock_id,
            "inferenceProfileArn": f"arn:aws:bedrock:{where}::inference-profile/{entry.bedrock_id}",
            "status": "ACTIVE", "type": "SYSTEM_DEFINED", "description": f"Gateway model {entry.name}",
            "models": [{"modelArn": f"arn:aws:bedrock:{where}::foundation-model/{base}"}]})
    return {"inferenceProfileSummaries": summaries}


def foundation_models(entries: list[CatalogueEntry], region: str) -> dict[str, Any]:
    summaries = []
    for entry in entries:
        base = foundation_model_id(entry.bedrock_id)
        provider = base.split(".", 1)[0]
        embedding = entry.kind == "embedding"
        summaries.append({
            "modelArn": f"arn:aws:bedrock:{entry.region or region}::foundation-model/{base}", "modelId": base,
            "modelName": entry.name, "providerName": provider.capitalize(),
            "inputModalities": ["TEXT", "IMAGE"] if provider == "anthropic" else ["TEXT"],
            "outputModalities": ["EMBEDDING" if embedding else "TEXT"], "responseStreamingSupported": not embedding,
            "inferenceTypesSupported": ["INFERENCE_PROFILE" if base != entry.bedrock_id else "ON_DEMAND"],
            "modelLifecycle": {"status": "ACTIVE"}})
    return {"modelSummaries": summaries}
