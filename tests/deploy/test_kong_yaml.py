"""kong/kong.yaml against Kong 3.6.1's entity and plugin schemas and our plugins' dumped
schemas, as Kong validates a declarative file at start-up (the harness refuses what Kong would)."""

import copy

import pytest
import yaml

from tests.kong_harness.harness import HarnessStartError
from tests.stack import KONG_YAML, GatewayStack

CONFIG = yaml.safe_load(KONG_YAML.read_text())


def plugin(config, name):
    return next(p for s in config["services"] for p in s.get("plugins", []) if p["name"] == name)


def mutate_route_unknown_field(c):
    c["services"][0]["routes"][0]["path"] = "/typo"                 # routes have `paths`


def mutate_service_wrong_type(c):
    c["services"][0]["read_timeout"] = "ten minutes"


def mutate_consumer_missing_username(c):
    del c["consumers"][0]["username"]                               # username or custom_id required


def mutate_keyauth_unknown_config(c):
    plugin(c, "key-auth")["config"]["key_name"] = ["x-api-key"]     # bundled plugin schema


def mutate_token_meter_wrong_type(c):
    plugin(c, "token-meter")["config"]["limits"][1]["tokens_per_minute"] = "lots"   # our dumped schema


def mutate_bedrock_proxy_bad_kind(c):
    plugin(c, "bedrock-proxy")["config"]["models"][0]["kind"] = "gpt"


def mutate_token_meter_negative_price(c):
    plugin(c, "token-meter")["config"]["prices"] = [{"model": "haiku", "input": -5000, "output": 1}]   # credits


def mutate_guardrails_unbalanced_pattern(c):
    plugin(c, "ecommerce-guardrails")["config"]["custom_patterns"] = [{"category": "sku", "pattern": "SKU-(\\d+"}]


def mutate_consumer_groups(c):
    c["consumer_groups"] = [{"name": "developer"}]                  # Enterprise-only entity


class Mutated(GatewayStack):
    def __init__(self, mutation):
        super().__init__()
        self.mutation = mutation

    def _write_config(self):
        path = super()._write_config()
        config = yaml.safe_load(path.read_text())
        self.mutation(config)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path


def test_the_shipped_file_loads():
    with GatewayStack() as stack:
        assert stack.harness.config is not None


@pytest.mark.parametrize("mutation,field", [
    (mutate_route_unknown_field, "path"), (mutate_service_wrong_type, "read_timeout"),
    (mutate_consumer_missing_username, "username"), (mutate_keyauth_unknown_config, "key_name"),
    (mutate_token_meter_wrong_type, "tokens_per_minute"), (mutate_bedrock_proxy_bad_kind, "kind"),
    (mutate_token_meter_negative_price, "input"), (mutate_guardrails_unbalanced_pattern, "not a valid regex"),
    (mutate_consumer_groups, "consumer_groups")], ids=lambda v: v.__name__[7:] if callable(v) else v)
def test_invalid_files_are_refused_naming_the_field(mutation, field):
    stack = Mutated(mutation)
    with pytest.raises(HarnessStartError) as refused:
        stack.start()
    stack.stop()
    assert field in str(refused.value)


def test_the_shipped_guardrail_patterns_are_re2():
    """Kong's is_regex checks a pattern as PCRE, which accepts what RE2 refuses (lookarounds, backreferences);
    such a pattern makes ecommerce-guardrails refuse every request, so make validate compiles them as the
    plugin does."""
    from kong_plugins.guardrails.scanner import Scanner
    configs = [entry.get("config") or {} for service in CONFIG["services"] for entry in service.get("plugins", [])
               if entry["name"] == "ecommerce-guardrails"]
    assert configs and all(Scanner(config).invalid_patterns == [] for config in configs)


def test_the_shipped_catalogue_and_limits_name_nothing_twice():
    """Kong's schema cannot say "unique by name" in an array of records: the plugins keep a name's first claim
    and log the rest (catalogue_conflict, limits_conflict); make validate refuses them before a deploy."""
    from kong_plugins.metering.limits import LimitPolicy
    from kong_plugins.policy.catalogue import Catalogue
    assert Catalogue.from_config(plugin(CONFIG, "bedrock-proxy")["config"]).conflicts == []
    assert LimitPolicy.from_config(plugin(CONFIG, "token-meter")["config"]).conflicts == []
