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
    (mutate_consumer_groups, "consumer_groups")], ids=lambda v: v.__name__[7:] if callable(v) else v)
def test_invalid_files_are_refused_naming_the_field(mutation, field):
    stack = Mutated(mutation)
    with pytest.raises(HarnessStartError) as refused:
        stack.start()
    stack.stop()
    assert field in str(refused.value)
