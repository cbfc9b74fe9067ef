"""infra/terraform, statically (no terraform binary here): every file parses (python-hcl2),
local module wiring resolves, versions are pinned, the Bedrock IRSA role is least privilege, and the
e-commerce abuse guardrail (modules/bedrock-guardrail) fits Bedrock's limits and reaches the IRSA role."""

import re
from pathlib import Path

import hcl2
import pytest
import yaml

from tests.deploy.test_terraform import _load_hcl, as_list, blocks, policy_statements, strings, typed_blocks

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
            "../../modules/observability", "../../modules/bedrock-guardrail"} <= sources


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
    """module.x.output, and module.x[0].output or module.x[*].output for a module with count."""
    return set(re.findall(rf"module\.{re.escape(module)}(?:\[[^\]]*\])?\.([A-Za-z0-9_]+)", text))


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


# ---------------------------------------------------- the e-commerce abuse guardrail

GUARDRAIL = ROOT / "modules" / "bedrock-guardrail"
IRSA = ROOT / "modules" / "bedrock-irsa"
TOPICS = GUARDRAIL / "denied-topics.yaml"
TOPIC_NAME = re.compile(r"[0-9A-Za-z_ !?.-]{1,100}")   # Bedrock's pattern for a topic name
EXCEPTION_WORDS = re.compile(r"\b(except|unless|excluding|other than|apart from)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def tf() -> dict[Path, dict]:
    """Every .tf file, parsed as test_terraform.py parses it (quotes and block markers gone)."""
    return {path: _load_hcl(path.read_text()) for path in FILES if ".terraform" not in path.parts}


def guardrail_resource(tf) -> dict:
    return typed_blocks(tf, GUARDRAIL, "resource")["aws_bedrock_guardrail.this"]


def dynamic(body: dict, name: str) -> dict:
    """The `dynamic "<name>"` block inside a parsed block."""
    found = [d[name] for d in as_list(body.get("dynamic", [])) if name in d]
    assert len(found) == 1, f"expected one dynamic {name!r}, found {len(found)}"
    return found[0]


def test_guardrail_denies_the_abuse_topics_within_bedrocks_limits(tf):
    """Each topic: a name Bedrock takes, a definition <= 200 characters (CLASSIC's limit, so both tiers take it)
    with no exception in it (Bedrock's guidance: "all X except Y" weakens detection), 3 to 5 examples of <= 100
    characters, and what it leaves out (not_covered, documentation only)."""
    topics = yaml.safe_load(TOPICS.read_text())["topics"]
    names = [t["name"] for t in topics]
    assert 1 <= len(topics) <= 30 and len({n.lower() for n in names}) == len(names)
    for words in (("order", "price"), ("refund", "chargeback"), ("coupon", "promotion"), ("payment",),
                  ("account takeover", "bot")):
        assert any(all(w in n.lower() for w in words) for n in names), f"no denied topic for {words}: {names}"
    for topic in topics:
        assert set(topic) == {"name", "definition", "examples", "not_covered"}, topic["name"]
        assert TOPIC_NAME.fullmatch(topic["name"]), topic["name"]
        assert 1 <= len(topic["definition"]) <= 200, (topic["name"], len(topic["definition"]))
        assert not EXCEPTION_WORDS.search(topic["definition"]), f"{topic['name']}: an exception in the definition"
        assert 3 <= len(topic["examples"]) <= 5 and len(set(topic["examples"])) == len(topic["examples"])
        assert all(1 <= len(e) <= 100 for e in topic["examples"]), topic["name"]
        assert topic["not_covered"].strip(), f"{topic['name']}: say what the topic does not cover"


def test_guardrail_sends_every_topic_as_denied_and_checks_the_file_at_plan_time(tf):
    resource = guardrail_resource(tf)
    (policy,) = as_list(resource["topic_policy_config"])
    topics = dynamic(policy, "topics_config")
    assert topics["for_each"] == "${local.topics}"
    (content,) = as_list(topics["content"])
    assert content == {"name": "${topics_config.value.name}", "definition": "${topics_config.value.definition}",
                       "examples": "${topics_config.value.examples}", "type": "DENY"}
    local_defs = {k: v for d in tf[GUARDRAIL / "main.tf"].get("locals", []) for k, v in d.items()}
    assert "denied-topics.yaml" in local_defs["topics_file"] and "local.topics_file" in local_defs["topics"]
    # a variable's validation cannot read a file: the preconditions hold the topics file to the same limits
    conditions = " ".join(p["condition"] for lc in as_list(resource["lifecycle"]) for p in as_list(lc["precondition"]))
    for limit in ("length(local.topics) <= 30", "length(t.definition) <= 200", "length(t.examples) <= 5",
                  "length(e) <= 100", "not_covered", "lower(t.name)"):
        assert limit in conditions, f"no precondition with {limit!r}"


def test_guardrail_filters_prompt_attacks_on_input_and_tiers_both_policies(tf):
    variables = blocks(tf, GUARDRAIL, "variable")
    filters = variables["content_filters"]["default"]
    assert filters["PROMPT_ATTACK"] == {"input_strength": "HIGH", "output_strength": "NONE"}
    assert filters["MISCONDUCT"]["input_strength"] != "NONE"
    validations = " ".join(v["condition"] for v in as_list(variables["content_filters"]["validation"]))
    assert 'content_filters["PROMPT_ATTACK"].output_strength' in validations   # required, output NONE
    resource = guardrail_resource(tf)
    (content,) = as_list(resource["content_policy_config"])
    assert dynamic(content, "filters_config")["for_each"] == "${var.content_filters}"
    for policy in (content, as_list(resource["topic_policy_config"])[0]):
        assert as_list(policy["tier_config"]) == [{"tier_name": "${var.tier}"}]
    assert variables["tier"]["default"] == "STANDARD"
    cross_region = dynamic(resource, "cross_region_config")
    assert cross_region["for_each"] == "${local.standard ? [local.profile_arn] : []}"


def test_guardrail_blocks_card_data_the_gateway_does_not_scan(tf):
    pii = blocks(tf, GUARDRAIL, "variable")["pii_entities"]["default"]
    assert {"CREDIT_DEBIT_CARD_NUMBER", "CREDIT_DEBIT_CARD_CVV"} <= set(pii)
    assert set(pii.values()) <= {"BLOCK", "ANONYMIZE"}
    policy = dynamic(guardrail_resource(tf), "sensitive_information_policy_config")
    assert policy["for_each"] == "${length(var.pii_entities) > 0 ? [var.pii_entities] : []}"


def validation_patterns(spec: dict) -> list[re.Pattern]:
    raw = [m for v in as_list(spec.get("validation", [])) for m in
           re.findall(r'regex\(\s*"((?:[^"\\]|\\.)*)"', str(v.get("condition", "")))]
    return [re.compile(r.replace('\\"', '"').replace("\\\\", "\\")) for r in raw]


@pytest.mark.parametrize("name,good,bad", [
    ("name", ["kong-bedrock-prod-abuse"], ["has space", "x" * 51, "", "abuse*"]),
    ("region", ["us-east-1", "eu-central-1"], ["us-east-*", "US-EAST-1", "*"]),
    ("guardrail_profile_id", ["us.guardrail.v1:0", "eu.guardrail.v1:0"],
     ["us.guardrail.*", "*", "arn:aws:bedrock:us-east-1:123456789012:guardrail-profile/us.guardrail.v1:0"]),
    ("guardrail_profile_regions", ["us-west-2"], ["*", "us-*"]),
    ("kms_key_arn", ["arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                     "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"],
     ["*", "arn:aws:kms:us-east-1:123456789012:key/*", "arn:aws:kms:us-east-1:123456789012:alias/guardrail"]),
    ("pii_entities", ["CREDIT_DEBIT_CARD_NUMBER"], ["card number", "*"]),
])
def test_guardrail_variable_validations_take_good_input_and_refuse_bad(tf, name, good, bad):
    patterns = validation_patterns(blocks(tf, GUARDRAIL, "variable")[name])
    assert patterns, f"var.{name} has no regex validation"
    for value in good:
        assert all(p.search(value) for p in patterns), f"var.{name} refuses {value!r}"
    for value in bad:
        assert not all(p.search(value) for p in patterns), f"var.{name} takes {value!r}"


def test_every_guardrail_variable_is_validated(tf):
    """Bad input fails at plan with the variable's message, not at CreateGuardrail half-way through an apply."""
    variables = blocks(tf, GUARDRAIL, "variable")
    unchecked = sorted(n for n, spec in variables.items() if not spec.get("validation"))
    assert unchecked == ["denied_topics_file", "tags"], unchecked   # the file: the resource's preconditions
    enums = {"tier": ('"CLASSIC"', '"STANDARD"'), "pii_entities": ('"BLOCK"', '"ANONYMIZE"'),
             "content_filters": ('"NONE"', '"LOW"', '"MEDIUM"', '"HIGH"', '"PROMPT_ATTACK"')}
    for name, words in enums.items():
        conditions = " ".join(v["condition"] for v in as_list(variables[name]["validation"]))
        assert all(w in conditions for w in words), (name, conditions)


def test_guardrail_version_is_published_on_every_change_and_kept(tf):
    """The gateway names a numbered version (DRAFT would change under it with every edit): any change to the
    guardrail publishes a new one, and the old one stays for pods that still name it."""
    resources = typed_blocks(tf, GUARDRAIL, "resource")
    version = resources["aws_bedrock_guardrail_version.this"]
    assert version["guardrail_arn"] == "${aws_bedrock_guardrail.this.guardrail_arn}"
    assert version["skip_destroy"] is True
    assert as_list(version["lifecycle"])[0]["replace_triggered_by"] == ["${aws_bedrock_guardrail.this}"]
    for resource in resources.values():   # Bedrock applies a guardrail only in its own region
        assert resource["region"] == "${var.region}"
    outputs = blocks(tf, GUARDRAIL, "output")
    assert outputs["arn"]["value"] == "${aws_bedrock_guardrail.this.guardrail_arn}"
    assert outputs["version"]["value"] == "${aws_bedrock_guardrail_version.this.version}"


@pytest.mark.parametrize("env", ["poc", "prod"])
def test_environments_create_the_guardrail_and_let_the_irsa_role_apply_it(tf, env):
    """The guardrail's ARN (and on STANDARD its profile in each destination region, and its KMS key if any)
    reaches bedrock-irsa: without ApplyGuardrail every call of a guarded role fails."""
    env_dir = ROOT / "environments" / env
    modules = blocks(tf, env_dir, "module")
    guard = modules["bedrock_guardrail"]
    assert guard["source"] == "../../modules/bedrock-guardrail"
    assert guard["count"] == "${var.enable_bedrock_guardrail ? 1 : 0}"
    assert guard["region"] == "${var.bedrock_region}"
    enable = blocks(tf, env_dir, "variable")["enable_bedrock_guardrail"]
    assert enable["type"] in ("bool", "${bool}") and enable["default"] is True
    local_defs = {k: v for path, doc in tf.items() if path.parent == env_dir for d in doc.get("locals", [])
                  for k, v in d.items()}
    irsa = modules["bedrock_irsa"]
    for arg, output in (("guardrail_arns", "apply_guardrail_arns"), ("guardrail_kms_key_arns", "kms_key_arns")):
        (local,) = re.findall(r"local\.([a-z_]+)", irsa[arg])
        assert f"var.{arg}" in irsa[arg], f"environments/{env}: {arg} drops the operator's own {arg}"
        assert local_defs[local] == f"${{flatten(module.bedrock_guardrail[*].{output})}}", (env, arg)
    module_outputs = blocks(tf, GUARDRAIL, "output")
    assert "aws_bedrock_guardrail.this.guardrail_arn" in module_outputs["apply_guardrail_arns"]["value"]
    assert "local.profile_arns" in module_outputs["apply_guardrail_arns"]["value"]
    assert "var.kms_key_arn" in module_outputs["kms_key_arns"]["value"]
    profile_arns = {k: v for d in tf[GUARDRAIL / "main.tf"]["locals"] for k, v in d.items()}["profile_arns"]
    assert "*" not in profile_arns and "var.guardrail_profile_regions" in profile_arns
    outputs = blocks(tf, env_dir, "output")
    assert outputs["bedrock_guardrail_arn"]["value"] == "${one(module.bedrock_guardrail[*].arn)}"
    assert outputs["bedrock_guardrail_version"]["value"] == "${one(module.bedrock_guardrail[*].version)}"


def test_irsa_applies_guardrails_and_decrypts_only_their_keys(tf):
    documents = typed_blocks(tf, IRSA, "data")
    statements = [s for d in documents.values() for s in policy_statements(d)]
    by_action = {tuple(as_list(s["actions"])): s for s in statements if s.get("sid") in
                 ("ApplyRoleGuardrails", "DecryptRoleGuardrails")}
    assert by_action[("bedrock:ApplyGuardrail",)]["resources"] == "${var.guardrail_arns}"
    assert by_action[("kms:Decrypt",)]["resources"] == "${var.guardrail_kms_key_arns}"
    dynamics = [d["statement"]["for_each"] for doc in documents.values() for d in as_list(doc.get("dynamic", []))]
    assert "${length(var.guardrail_arns) > 0 ? [1] : []}" in dynamics
    assert "${length(var.guardrail_kms_key_arns) > 0 ? [1] : []}" in dynamics
    assert "guardrail-profile/" in " ".join(strings(blocks(tf, IRSA, "variable")["guardrail_arns"]["validation"]))
