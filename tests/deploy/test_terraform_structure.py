"""infra/terraform, statically (no terraform binary here): every file parses (python-hcl2),
local module wiring resolves, versions are pinned, and the Bedrock IRSA role is least privilege."""

import re
from pathlib import Path

import hcl2
import pytest

ROOT = Path(__file__).resolve().parents[2] / "infra/terraform"
FILES = sorted(ROOT.rglob("*.tf"))


def parse(path: Path) -> dict:
    with path.open() as handle:
        return _unquote(hcl2.load(handle))


def _unquote(node):
    """python-hcl2 8 keeps the quotes of string literals and keys: drop them."""
    if isinstance(node, dict):
        return {_unquote(k): _unquote(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_unquote(v) for v in node]
    if isinstance(node, str) and len(node) >= 2 and node[0] == node[-1] == '"':
        return node[1:-1]
    return node


def directory(path: Path) -> dict:
    merged: dict = {}
    for tf in sorted(path.glob("*.tf")):
        for key, value in parse(tf).items():
            merged.setdefault(key, []).extend(value if isinstance(value, list) else [value])
    return merged


def declared_variables(module_dir: Path) -> tuple[set, set]:
    names, required = set(), set()
    for block in directory(module_dir).get("variable", []):
        for name, body in block.items():
            names.add(name)
            if "default" not in body:
                required.add(name)
    return names, required


def declared_outputs(module_dir: Path) -> set:
    return {name for block in directory(module_dir).get("output", []) for name in block}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_parses(path):
    assert isinstance(parse(path), dict)


def test_environments_use_the_local_modules():
    sources = {body["source"] for env in ("poc", "prod")
               for block in directory(ROOT / "environments" / env).get("module", []) for body in block.values()}
    assert {"../../modules/vpc", "../../modules/eks", "../../modules/bedrock-irsa",
            "../../modules/observability"} <= sources


@pytest.mark.parametrize("env", ["poc", "prod"])
def test_local_modules_resolve_in_both_directions(env):
    env_dir = ROOT / "environments" / env
    env_text = "".join(p.read_text() for p in env_dir.glob("*.tf"))
    for block in directory(env_dir).get("module", []):
        for name, body in block.items():
            source = body["source"]
            if not source.startswith("."):
                continue
            module_dir = (env_dir / source).resolve()
            assert module_dir.is_dir(), f"module {name}: {source} does not exist"
            names, required = declared_variables(module_dir)
            passed = {k for k in body if k not in ("source", "version", "providers", "depends_on", "count",
                                                   "for_each", "__is_block__")}
            assert passed <= names, f"module {name} passes undeclared {sorted(passed - names)}"
            assert required <= passed, f"module {name} misses required {sorted(required - passed)}"
            for reference in _references(env_text, name):
                assert reference in declared_outputs(module_dir), f"module.{name}.{reference} is not an output"


def _references(text: str, module: str) -> set:
    return set(re.findall(rf"module\.{re.escape(module)}\.([A-Za-z0-9_]+)", text))


@pytest.mark.parametrize("env", ["poc", "prod"])
def test_terraform_and_providers_are_pinned(env):
    versions = directory(ROOT / "environments" / env).get("terraform", [])
    text = "".join(p.read_text() for p in (ROOT / "environments" / env).glob("*.tf"))
    assert versions and "required_version" in text and "required_providers" in text
    for block in directory(ROOT / "environments" / env).get("module", []):
        for name, body in block.items():
            if not body["source"].startswith("."):
                assert body.get("version"), f"registry module {name} is not pinned"
    for module_dir in (ROOT / "modules").iterdir():
        for block in directory(module_dir).get("module", []):
            for name, body in block.items():
                if not body["source"].startswith("."):
                    assert body.get("version"), f"{module_dir.name}: registry module {name} is not pinned"


def test_bedrock_irsa_trust_and_permissions_are_least_privilege():
    text = (ROOT / "modules/bedrock-irsa/main.tf").read_text()
    assert ':sub"' in text and ':aud"' in text and "sts.amazonaws.com" in text
    assert "system:serviceaccount:${var.namespace}:${var.service_account}" in text
    variables = {name: body for block in directory(ROOT / "modules/bedrock-irsa").get("variable", [])
                 for name, body in block.items()}
    actions = set(variables["bedrock_actions"]["default"])
    assert actions <= {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream", "bedrock:Converse",
                       "bedrock:ConverseStream", "bedrock:CountTokens"} and "bedrock:InvokeModel" in actions
    assert '"*"' not in text and "bedrock:*" not in text
    assert ("resources = concat(var.foundation_model_arns, var.inference_profile_arns, "
            "var.application_inference_profile_arns)") in text
