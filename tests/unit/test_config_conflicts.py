"""A name the configuration gives twice: the first claim keeps it, a model's own name beats any alias, and the
conflict is reported (the plugins log it at start). It used to be last-one-wins, silently: an alias `haiku` on
opus served and billed every haiku call as opus, and a second limits entry for a role dropped its daily limit."""

from kong_plugins.metering.limits import LimitPolicy
from kong_plugins.policy.catalogue import Catalogue

MODELS = [{"name": "haiku", "bedrock_id": "us.anthropic.claude-haiku-4-5-20251001-v1:0"},
          {"name": "opus", "bedrock_id": "us.anthropic.claude-opus-4-1-20250805-v1:0"}]
ROLE = {"name": "guest", "allowed_models": ["haiku"], "default_model": "haiku"}


def test_an_alias_never_hides_another_models_name_or_id():
    catalogue = Catalogue.from_config({"models": [MODELS[0], {**MODELS[1], "aliases": [
        "haiku", "US.anthropic.claude-haiku-4-5-20251001-v1:0", "big"]}], "roles": [ROLE]})
    assert catalogue.resolve("haiku").name == "haiku"
    assert catalogue.resolve("us.anthropic.claude-haiku-4-5-20251001-v1:0").name == "haiku"
    assert catalogue.resolve("big").name == "opus"
    assert catalogue.conflicts == [
        "alias 'haiku' of 'opus' already names 'haiku', which keeps it",
        "alias 'us.anthropic.claude-haiku-4-5-20251001-v1:0' of 'opus' already names 'haiku', which keeps it"]


def test_a_model_or_role_defined_twice_keeps_its_first_definition():
    catalogue = Catalogue.from_config({"models": [*MODELS, {**MODELS[1], "bedrock_id": "other"}],
                                       "roles": [ROLE, {**ROLE, "allowed_models": ["*"]}, ROLE]})
    assert catalogue.resolve("opus").bedrock_id == MODELS[1]["bedrock_id"]
    assert catalogue.roles["guest"].allowed == frozenset({"haiku"})
    assert catalogue.conflicts == ["model 'opus' is defined twice: the first definition is used",
                                   "role 'guest' is defined twice: the first definition is used"]


def test_limits_given_twice_keep_the_first_entry():
    policy = LimitPolicy.from_config({"limits": [
        {"role": "guest", "tokens_per_minute": 500, "tokens_per_day": 1000},
        {"role": "guest", "tokens_per_minute": 1_000_000}, {"role": "guest", "tokens_per_minute": 500,
                                                             "tokens_per_day": 1000}],
        "consumer_overrides": [{"consumer": "c", "tokens_per_day": 5}, {"consumer": "c", "tokens_per_day": 9}]})
    assert policy.by_role["guest"].tokens_per_day == 1000 and policy.by_consumer["c"]["tokens_per_day"] == 5
    assert policy.conflicts == ["role 'guest' has limits twice: the first entry is used",
                                "consumer 'c' has limits twice: the first entry is used"]
