from kong_plugins.policy.catalogue import Catalogue

CONFIG = {
    "models": [
        {"name": "haiku", "bedrock_id": "us.anthropic.claude-haiku-4-5-20251001-v1:0", "kind": "claude",
         "aliases": ["claude-haiku-4-5"]},
        {"name": "sonnet", "bedrock_id": "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "kind": "claude",
         "aliases": []},
    ],
    "roles": [
        {"name": "admin", "allowed_models": ["*"], "default_model": "sonnet"},
        {"name": "guest", "allowed_models": ["haiku"], "default_model": "haiku"},
    ],
}


def test_resolves_names_aliases_and_bedrock_ids_case_insensitively():
    cat = Catalogue.from_config(CONFIG)
    assert cat.resolve("haiku").name == "haiku"
    assert cat.resolve("Claude-Haiku-4-5").name == "haiku"
    assert cat.resolve("us.anthropic.claude-sonnet-4-5-20250929-v1:0").name == "sonnet"
    assert cat.resolve("gpt-4o") is None


def test_role_policy():
    cat = Catalogue.from_config(CONFIG)
    guest, admin = cat.roles["guest"], cat.roles["admin"]
    assert guest.allows(cat.resolve("haiku")) and not guest.allows(cat.resolve("sonnet"))
    assert admin.allows(cat.resolve("sonnet"))
    assert cat.allowed_names(admin) == ["haiku", "sonnet"]
    assert cat.allowed_names(guest) == ["haiku"]
