"""No real secret in the configuration users deploy: kong.yaml, kong.conf, compose, Helm, Terraform.

Dev keys (dev-*-key) and the emulator's obviously fake AWS key are allowed; anything shaped
like a real credential is not."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = [p for pattern in ("kong/*.yaml", "kong/*.conf", "docker-compose.yml", "helm/**/*.yaml",
                           "infra/terraform/**/*.tf", "infra/terraform/**/*.tfvars", "Dockerfile.kong",
                           "deploy/**/*.yml", "deploy/**/*.yaml")
         for p in ROOT.glob(pattern)]
SECRET_SHAPES = {
    "AWS access key id": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "AWS secret key": r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}",
    "private key": r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----",
    "GitHub token": r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    "Slack token": r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
    "Stripe/OpenAI key": r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|\bsk-[A-Za-z0-9_-]{32,}",
    "Google API key": r"\bAIza[0-9A-Za-z_-]{35}\b",
    "password assignment": r"(?i)\b(?:password|passwd|secret)\s*[:=]\s*['\"]?(?!\$|\{vault|dev-|<|\"\"|''|\s*$)[^\s'\"#]{8,}",
    "key-auth key that is not a dev key": r"(?m)(?:\{\s*|^\s*-?\s*)key:\s*(?!dev-)[A-Za-z0-9_-]{12,}",
}

SECRET_NAMES = re.compile(r"^dblessConfig:\n\s+secret:\s*[a-z0-9.-]+(?=\s|$)", re.M)
"""The chart's dblessConfig.secret is the name of the Kubernetes Secret holding the rendered config, not a secret."""


def test_the_scan_covers_the_deployed_configs():
    names = {p.name for p in FILES}
    assert {"kong.yaml", "kong.conf", "kong-values.yaml", "Dockerfile.kong"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_real_secrets(path):
    text = SECRET_NAMES.sub("dblessConfig:", path.read_text(errors="replace"))
    found = {name for name, pattern in SECRET_SHAPES.items() if re.search(pattern, text)}
    assert found == set(), f"{path.relative_to(ROOT)}: {sorted(found)}"


def test_the_scan_would_catch_a_planted_key(tmp_path):
    planted = "consumers:\n  - username: x\n    keyauth_credentials: [{key: Zq8tLr5wXy2ab9Kc}]\n" \
              "aws: AKIAQWERTYUIOPASDFGH\n"
    assert {n for n, p in SECRET_SHAPES.items() if re.search(p, planted)} == \
        {"AWS access key id", "key-auth key that is not a dev key"}
