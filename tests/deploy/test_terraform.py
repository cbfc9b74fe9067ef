"""Static checks of infra/terraform: no terraform binary, no AWS access needed.

Every .tf file is parsed with python-hcl2 (8 preferred, 7 works); module wiring, version pins and the
IRSA role's trust and permission policies are checked from the parsed files.
checkov's scan of the same tree is in test_checkov.py.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

try:
    import hcl2
except ImportError:  # reported by the `parsed` fixture, so every test says why
    hcl2 = None

ROOT = Path(__file__).resolve().parents[2]
TF_ROOT = ROOT / "infra" / "terraform"
ENVIRONMENTS = ("poc", "prod")
MODULES = ("vpc", "eks", "bedrock-irsa", "lb-controller-irsa", "observability", "bedrock-guardrail")
META_ARGS = {"source", "version", "count", "for_each", "providers", "depends_on"}

BEDROCK_ACTIONS = {
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "bedrock:Converse",
    "bedrock:ConverseStream",
    "bedrock:CountTokens",
}
MANTLE_ACTIONS = {"bedrock-mantle:CreateInference", "bedrock-mantle:CountTokens"}
GUARDRAIL_ACTIONS = {"bedrock:ApplyGuardrail"}   # roles with a bedrock_guardrail, on the guardrails' exact ARNs
GUARDRAIL_KMS_ACTIONS = {"kms:Decrypt"}         # a guardrail with a customer managed key, on that key only

# Failed checkov checks accepted on purpose. checkov without a Prisma Cloud API key
# reports severity null, so every failure must be listed here with its reason.

EXPR_REF = re.compile(r"\b(var|local|module)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?(?:\.([A-Za-z0-9_-]+))?")
"""var.x, local.x, module.x.output; a module with count or for_each is module.x[0].output or module.x[*].output."""


# --------------------------------------------------------------------- parsing

def _normalize(node):
    """python-hcl2 < 8 output made like 8's with strip_string_quotes: no quotes, no markers."""
    def unquote(text):
        return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
    if isinstance(node, dict):
        return {unquote(k): _normalize(v) for k, v in node.items() if not str(k).startswith("__")}
    if isinstance(node, list):
        return [_normalize(v) for v in node]
    return unquote(node) if isinstance(node, str) else node


def _load_hcl(text: str) -> dict:
    if hasattr(hcl2, "SerializationOptions"):  # python-hcl2 >= 8
        options = hcl2.SerializationOptions(
            with_comments=False, explicit_blocks=False, strip_string_quotes=True)
        return hcl2.loads(text, serialization_options=options)
    return _normalize(hcl2.loads(text))


@pytest.fixture(scope="module")
def parsed() -> dict[Path, dict]:
    """Every .tf file under infra/terraform, parsed: {path: document}."""
    if hcl2 is None or not hasattr(hcl2, "loads"):
        where = getattr(hcl2, "__file__", "not installed")
        pytest.fail(
            "python-hcl2 is required to parse the Terraform files "
            f"(hcl2 module: {where}). Install it: pip install 'python-hcl2>=8,<9'. "
            "If checkov was installed in this environment, its bc-python-hcl2 may have "
            "replaced the hcl2 module: reinstall python-hcl2 and keep checkov in its own venv.",
            pytrace=False,
        )
    files = sorted(p for p in TF_ROOT.rglob("*.tf") if ".terraform" not in p.parts)
    assert files, f"no .tf files under {TF_ROOT}"
    docs, errors = {}, []
    for path in files:
        try:
            docs[path] = _load_hcl(path.read_text())
        except Exception as exc:  # noqa: BLE001 - report every file that fails
            errors.append(f"{path.relative_to(ROOT)}: {exc}")
    assert not errors, "unparsable Terraform:\n" + "\n".join(errors)
    return docs


def blocks(parsed: dict[Path, dict], directory: Path, kind: str) -> dict[str, dict]:
    """Blocks of one kind with one label (variable, output, module) in a directory."""
    found: dict[str, dict] = {}
    for path, doc in parsed.items():
        if path.parent == directory:
            for entry in doc.get(kind, []):
                found.update(entry)
    return found


def typed_blocks(parsed, directory: Path, kind: str) -> dict[str, dict]:
    """Two-label blocks (resource, data) as {"type.name": body}."""
    found = {}
    for type_, named in blocks_list(parsed, directory, kind):
        for name, body in named.items():
            found[f"{type_}.{name}"] = body
    return found


def blocks_list(parsed, directory: Path, kind: str):
    for path, doc in parsed.items():
        if path.parent == directory:
            for entry in doc.get(kind, []):
                yield from entry.items()


def merged(parsed, directory: Path, kind: str) -> dict:
    """Unlabelled blocks (locals, terraform) merged into one dict."""
    out: dict = {}
    for path, doc in parsed.items():
        if path.parent == directory:
            for entry in doc.get(kind, []):
                out.update(entry)
    return out


def strings(node):
    """Every string (keys included) inside a parsed value."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def refs(node, kind: str) -> set[str]:
    return {m.group(2) for s in strings(node) for m in EXPR_REF.finditer(s) if m.group(1) == kind}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def module_dirs(parsed) -> set[Path]:
    return {p.parent for p in parsed}


def local_source(directory: Path, body: dict) -> Path | None:
    source = body.get("source", "")
    if source.startswith(("./", "../")):
        return (directory / source).resolve()
    return None


def env_dir(env: str) -> Path:
    return TF_ROOT / "environments" / env


# ----------------------------------------------------------------- the layout

def test_expected_layout(parsed):
    dirs = module_dirs(parsed)
    for env in ENVIRONMENTS:
        assert env_dir(env) in dirs, f"environments/{env} has no .tf files"
        assert (env_dir(env) / "versions.tf").is_file(), f"environments/{env}/versions.tf missing"
    for name in MODULES:
        assert TF_ROOT / "modules" / name in dirs, f"modules/{name} has no .tf files"
    assert (TF_ROOT / "README.md").is_file()


def test_local_module_sources_exist(parsed):
    missing = []
    for directory in module_dirs(parsed):
        for name, body in blocks(parsed, directory, "module").items():
            target = local_source(directory, body)
            if target is not None and not list(target.glob("*.tf")):
                missing.append(f"{directory.relative_to(TF_ROOT)}: module.{name} -> {body['source']}")
    assert not missing, "local module sources without .tf files:\n" + "\n".join(missing)


def test_registry_modules_pinned_to_exact_versions(parsed):
    loose = []
    for directory in module_dirs(parsed):
        for name, body in blocks(parsed, directory, "module").items():
            if local_source(directory, body) is None:
                if not re.fullmatch(r"\d+\.\d+\.\d+", str(body.get("version", ""))):
                    loose.append(f"{directory.relative_to(TF_ROOT)}: module.{name} version={body.get('version')!r}")
    assert not loose, "registry modules must pin an exact version:\n" + "\n".join(loose)


def test_module_inputs_match_declared_variables(parsed):
    problems = []
    for directory in module_dirs(parsed):
        for name, body in blocks(parsed, directory, "module").items():
            target = local_source(directory, body)
            if target is None:
                continue
            declared = blocks(parsed, target, "variable")
            passed = set(body) - META_ARGS
            required = {v for v, spec in declared.items() if "default" not in spec}
            where = f"{directory.relative_to(TF_ROOT)}: module.{name}"
            problems += [f"{where} passes undeclared variable {v!r}" for v in sorted(passed - set(declared))]
            problems += [f"{where} omits required variable {v!r}" for v in sorted(required - passed)]
    assert not problems, "\n".join(problems)


def test_module_output_references_exist(parsed):
    problems = []
    for env in ENVIRONMENTS:
        directory = env_dir(env)
        modules = blocks(parsed, directory, "module")
        for path, doc in parsed.items():
            if path.parent != directory:
                continue
            for s in strings(doc):
                for kind, mod, attr in EXPR_REF.findall(s):
                    if kind != "module":
                        continue
                    where = f"environments/{env}/{path.name}: module.{mod}.{attr}"
                    if mod not in modules:
                        problems.append(f"{where}: no module {mod!r}")
                        continue
                    target = local_source(directory, modules[mod])
                    if target is not None and attr not in blocks(parsed, target, "output"):
                        problems.append(f"{where}: {target.relative_to(TF_ROOT)} has no output {attr!r}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- versions

def bounded(constraint: str) -> bool:
    """True when a version constraint has an upper bound (~>, <, or an exact version)."""
    constraint = constraint.strip()
    return "~>" in constraint or "<" in constraint or bool(re.fullmatch(r"=?\s*\d+(\.\d+)*", constraint))


def test_terraform_and_providers_pinned(parsed):
    problems = []
    for directory in sorted(module_dirs(parsed)):
        where = str(directory.relative_to(TF_ROOT))
        terraform = merged(parsed, directory, "terraform")
        if not bounded(str(terraform.get("required_version", ""))):
            problems.append(f"{where}: required_version missing or unbounded: {terraform.get('required_version')!r}")
        providers: dict = {}
        for entry in as_list(terraform.get("required_providers", [])):
            providers.update(entry)
        for pname, spec in providers.items():
            if not isinstance(spec, dict) or "source" not in spec:
                problems.append(f"{where}: provider {pname} has no source")
            elif not bounded(str(spec.get("version", ""))):
                problems.append(f"{where}: provider {pname} version unbounded: {spec.get('version')!r}")
        used = {key.split("_", 1)[0] for kind in ("resource", "data")
                for key, _ in blocks_list(parsed, directory, kind)}
        for pname in sorted(used - set(providers)):
            problems.append(f"{where}: uses provider {pname} without declaring it in required_providers")
    assert not problems, "\n".join(problems)


def test_environments_have_s3_backend_and_irsa_output(parsed):
    for env in ENVIRONMENTS:
        directory = env_dir(env)
        backend = merged(parsed, directory, "terraform").get("backend", [])
        s3 = [b["s3"] for b in as_list(backend) if "s3" in b]
        assert s3, f"environments/{env}: no backend \"s3\" block"
        assert {"bucket", "key", "region"} <= set(s3[0]), f"environments/{env}: s3 backend lacks bucket/key/region"
        assert s3[0].get("encrypt") is True, f"environments/{env}: s3 backend must set encrypt = true"
        assert env in s3[0]["key"], f"environments/{env}: state key should name the environment"
        outputs = blocks(parsed, directory, "output")
        assert "module.bedrock_irsa.role_arn" in str(outputs.get("bedrock_irsa_role_arn", {}).get("value")), \
            f"environments/{env}: output bedrock_irsa_role_arn must expose module.bedrock_irsa.role_arn"


def test_poc_is_small_and_prod_is_multi_az(parsed):
    poc = blocks(parsed, env_dir("poc"), "variable")
    prod = blocks(parsed, env_dir("prod"), "variable")
    assert poc["single_nat_gateway"]["default"] is True
    assert prod["single_nat_gateway"]["default"] is False
    assert len(prod["azs"]["default"]) >= 3 > len(poc["azs"]["default"]) >= 2
    assert prod["node_min_size"]["default"] > poc["node_min_size"]["default"]


# ------------------------------------------------------------------ the IRSA role

IRSA_DIR = TF_ROOT / "modules" / "bedrock-irsa"


def policy_statements(document: dict) -> list[dict]:
    """Static statements plus the content of dynamic "statement" blocks."""
    statements = list(as_list(document.get("statement", [])))
    for dynamic in as_list(document.get("dynamic", [])):
        if "statement" in dynamic:
            statements += as_list(dynamic["statement"].get("content", []))
    return statements


def irsa_documents(parsed):
    docs = {k.split(".", 1)[1]: v for k, v in typed_blocks(parsed, IRSA_DIR, "data").items()
            if k.startswith("aws_iam_policy_document.")}
    trust = {n: d for n, d in docs.items()
             if any("sts:AssumeRoleWithWebIdentity" in as_list(s.get("actions", [])) for s in policy_statements(d))}
    assert len(trust) == 1, f"expected one trust policy document in bedrock-irsa, found {sorted(trust)}"
    (trust_name, trust_doc), = trust.items()
    permissions = {n: d for n, d in docs.items() if n != trust_name}
    return trust_name, trust_doc, permissions


def test_irsa_trust_policy_limited_to_kong_service_account(parsed):
    trust_name, doc, _ = irsa_documents(parsed)
    role = typed_blocks(parsed, IRSA_DIR, "resource")["aws_iam_role.this"]
    assert f"data.aws_iam_policy_document.{trust_name}.json" in role["assume_role_policy"]
    (statement,) = policy_statements(doc)
    assert statement.get("effect", "Allow") == "Allow"
    assert as_list(statement["actions"]) == ["sts:AssumeRoleWithWebIdentity"]
    (principal,) = as_list(statement["principals"])
    assert principal["type"] == "Federated"
    assert as_list(principal["identifiers"]) == ["${var.oidc_provider_arn}"]
    conditions = {c["variable"]: c for c in as_list(statement.get("condition", []))}
    sub = conditions.get("${var.oidc_provider}:sub")
    aud = conditions.get("${var.oidc_provider}:aud")
    assert sub and aud, f"trust policy needs <oidc>:sub and <oidc>:aud conditions, has {sorted(conditions)}"
    assert sub["test"] == "StringEquals" and aud["test"] == "StringEquals"
    assert as_list(sub["values"]) == ["system:serviceaccount:${var.namespace}:${var.service_account}"]
    assert as_list(aud["values"]) == ["sts.amazonaws.com"]


def resolve_list(value, variables: dict, overrides: dict) -> list[str]:
    """A literal list, or "${var.x}" resolved to what the caller passes or the default."""
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{var\.([A-Za-z0-9_]+)\}", value)
        assert match, f"cannot resolve {value!r}: use a literal list or a single variable"
        name = match.group(1)
        value = overrides.get(name, variables[name].get("default"))
        assert isinstance(value, list), f"var.{name} must resolve to a literal list, got {value!r}"
    return [str(v) for v in as_list(value)]


def test_irsa_permission_policy_grants_only_catalogue_bedrock_actions(parsed):
    _, _, permissions = irsa_documents(parsed)
    assert len(permissions) == 1, f"expected one permission policy document, found {sorted(permissions)}"
    (document,) = permissions.values()
    variables = blocks(parsed, IRSA_DIR, "variable")
    granted: set[str] = set()
    for env in ENVIRONMENTS:
        call = blocks(parsed, env_dir(env), "module")["bedrock_irsa"]
        for statement in policy_statements(document):
            assert statement.get("effect", "Allow") == "Allow"
            assert "not_actions" not in statement and "not_resources" not in statement
            actions = resolve_list(statement["actions"], variables, call)
            assert actions and all("*" not in a for a in actions), f"wildcard action in {actions}"
            granted |= set(actions)
            resources = statement["resources"]
            assert "*" not in as_list(resources), "a bedrock statement grants Resource \"*\""
            # Resources come only from variables whose validation rejects wildcards.
            assert isinstance(resources, str) and not refs(resources, "local") and not refs(resources, "module")
            for name in refs(resources, "var"):
                check_no_wildcard_validation(variables, name)
    assert BEDROCK_ACTIONS <= granted, f"missing bedrock actions: {sorted(BEDROCK_ACTIONS - granted)}"
    extra = granted - BEDROCK_ACTIONS - MANTLE_ACTIONS - GUARDRAIL_ACTIONS - GUARDRAIL_KMS_ACTIONS
    assert not extra, f"actions beyond the gateway's needs: {sorted(extra)}"
    assert not any(re.search(r":(List|Get)", a) for a in granted), \
        "ListFoundationModels/ListInferenceProfiles are answered from the catalogue: do not grant List*/Get*"


WILDCARD_ARNS = (
    "*",
    "arn:aws:bedrock:us-east-1::foundation-model/*",
    "arn:aws:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/*",
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.*",
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/*",
    "arn:aws:bedrock-mantle:us-east-1:123456789012:project/*",
    "arn:aws:bedrock-mantle:*:123456789012:project/default",
    "arn:aws:bedrock:us-east-1:123456789012:guardrail/*",
    "arn:aws:bedrock:*:123456789012:guardrail/abc123xyz789",
    "arn:aws:bedrock:us-east-1:123456789012:guardrail-profile/*",
    "arn:aws:bedrock:us-east-1:123456789012:guardrail-profile/us.guardrail.*",
    "arn:aws:kms:us-east-1:123456789012:key/*",
    "arn:aws:kms:us-east-1:123456789012:alias/*",
)


def check_no_wildcard_validation(variables: dict, name: str) -> None:
    spec = variables[name]
    patterns = [m for v in as_list(spec.get("validation", [])) for m in
                re.findall(r'regex\("((?:[^"\\]|\\.)*)"', str(v.get("condition", "")))]
    assert patterns, f"var.{name} feeds policy resources but has no regex validation"
    for raw in patterns:
        pattern = re.compile(raw.replace('\\"', '"').replace("\\\\", "\\"))
        accepted = [arn for arn in WILDCARD_ARNS if pattern.search(arn)]
        assert not accepted, f"var.{name} validation accepts wildcard ARNs: {accepted}"


def test_environment_model_arns_have_no_wildcards(parsed):
    for env in ENVIRONMENTS:
        directory = env_dir(env)
        call = blocks(parsed, directory, "module")["bedrock_irsa"]
        local_defs = merged(parsed, directory, "locals")
        variables = blocks(parsed, directory, "variable")
        for arg in ("foundation_model_arns", "inference_profile_arns", "mantle_project_arns", "mantle_model_ids",
                    "application_inference_profile_arns", "guardrail_arns", "guardrail_kms_key_arns"):
            pending, seen_vars = [call[arg]], set()
            while pending:
                expr = pending.pop()
                pending += [local_defs[n] for n in refs(expr, "local")]
                seen_vars |= refs(expr, "var")
                literal = re.sub(r"\$\{[^}]*\}", "", " ".join(strings(expr)))
                assert "*" not in literal, f"environments/{env}: {arg} builds ARNs with a wildcard: {expr}"
            for name in seen_vars:
                default = variables[name].get("default")
                assert "*" not in json.dumps(default), f"environments/{env}: var.{name} default has a wildcard"


def test_environment_defaults_cover_gateway_catalogue(parsed):
    """Every Bedrock model in kong/kong.yaml's catalogue, and every application inference profile its roles call
    through, is granted by default."""
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "kong" / "kong.yaml").read_text())
    proxies = [p["config"] for s in config.get("services", []) for p in s.get("plugins", [])
               if p.get("name") == "bedrock-proxy"]
    proxies += [p["config"] for p in config.get("plugins", []) if p.get("name") == "bedrock-proxy"]
    assert proxies, "no bedrock-proxy plugin in kong/kong.yaml"
    for env in ENVIRONMENTS:
        defaults = {n: v.get("default") for n, v in blocks(parsed, env_dir(env), "variable").items()}
        for proxy in proxies:
            assert proxy.get("region", "us-east-1") == defaults["bedrock_region"], \
                f"environments/{env}: bedrock_region differs from bedrock-proxy's region"
            for model in proxy.get("models", []):
                kind, model_id = model.get("kind"), model.get("bedrock_id")
                if kind == "openai-compatible":   # not Bedrock: no IAM
                    continue
                region = model.get("region") or defaults["bedrock_region"]
                if kind == "mantle":
                    pool = defaults["mantle_model_ids"]
                elif region != defaults["bedrock_region"]:   # a model offered elsewhere (Cohere Rerank: us-west-2)
                    pool = defaults["regional_foundation_model_ids"].get(region, [])
                else:
                    pool = defaults["inference_profile_ids"] + defaults["foundation_model_ids"]
                assert model_id in pool, (
                    f"environments/{env}: catalogue model {model.get('name')} ({model_id}, kind {kind}, {region}) "
                    "is not granted by the IRSA role's defaults")
            profiles = {p["arn"] for role in proxy.get("roles", []) for p in role.get("inference_profiles") or []}
            missing = profiles - set(defaults["application_inference_profile_arns"])
            assert not missing, f"environments/{env}: roles call through ungranted profiles {sorted(missing)}"


def test_irsa_subject_matches_helm_deployment(parsed):
    """The trust policy's namespace/service account are the ones the Helm deployment uses."""
    yaml = pytest.importorskip("yaml")
    values_file = ROOT / "helm" / "kong-values.yaml"
    namespace_file = ROOT / "helm" / "manifests" / "namespace.yaml"
    if not values_file.is_file() or not namespace_file.is_file():
        pytest.skip("no helm/kong-values.yaml or helm/manifests/namespace.yaml")
    account = yaml.safe_load(values_file.read_text())["deployment"]["serviceAccount"]
    namespace = yaml.safe_load(namespace_file.read_text())["metadata"]["name"]
    for env in ENVIRONMENTS:
        defaults = {n: v.get("default") for n, v in blocks(parsed, env_dir(env), "variable").items()}
        assert (defaults["kong_namespace"], defaults["kong_service_account"]) == (namespace, account["name"]), (
            f"environments/{env}: IRSA trusts {defaults['kong_namespace']}:{defaults['kong_service_account']} "
            f"but Helm deploys Kong as {namespace}:{account['name']}")


def test_observability_policy_scoped_to_namespace_and_attached(parsed):
    directory = TF_ROOT / "modules" / "observability"
    docs = {k: v for k, v in typed_blocks(parsed, directory, "data").items()
            if k.startswith("aws_iam_policy_document.")}
    statements = [s for d in docs.values() for s in policy_statements(d)]
    assert len(statements) == 1
    (statement,) = statements
    assert as_list(statement["actions"]) == ["cloudwatch:PutMetricData"]
    (condition,) = as_list(statement["condition"])
    assert condition["variable"] == "cloudwatch:namespace" and condition["test"] == "StringEquals"
    assert as_list(condition["values"]) == ["${var.metric_namespace}"]
    log_group = typed_blocks(parsed, directory, "resource")["aws_cloudwatch_log_group.gateway"]
    assert log_group.get("retention_in_days") and log_group.get("kms_key_id")
    for env in ENVIRONMENTS:
        attachments = [b for k, b in typed_blocks(parsed, env_dir(env), "resource").items()
                       if k.startswith("aws_iam_role_policy_attachment.")]
        assert any("module.bedrock_irsa.role_name" in b["role"]
                   and "module.observability.put_metric_data_policy_arn" in b["policy_arn"]
                   for b in attachments), f"environments/{env}: PutMetricData policy not attached to the IRSA role"
