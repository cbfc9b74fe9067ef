"""The declarative file production Kong loads: kong/kong.yaml without its dev consumers, plus the operator's
consumers file, with everything the pods must share on one Redis.

Why: kong/kong.yaml is the dev and test file. Its consumers carry the well-known `dev-` keys, and token-meter's
budgets, bedrock-proxy's Responses store and rate-limiting's counters live in each pod's memory, so with 2-10 HPA
pods every budget and request limit is multiplied by the pod count. decK cannot sync a DB-less Kong: the file Kong
reads at start must be complete. `make eks/deploy` ships the result as the Secret that `dblessConfig.secret` names.

    DECK_ADMIN_KEY=... REDIS_PASSWORD=... python -m deploy.render_config \\
        --consumers consumers.yaml --redis-host redis.internal -o kong.yml

With BEDROCK_GUARDRAIL_ID and BEDROCK_GUARDRAIL_VERSION set (Terraform's bedrock_guardrail_arn and
bedrock_guardrail_version outputs), the roles in BEDROCK_GUARDRAIL_ROLES (default: ecommerce_ops,guest) call
Bedrock through that Amazon Bedrock Guardrail (docs/runbooks/bedrock-guardrail.md).
"""

from __future__ import annotations

import argparse
import copy
import ipaddress
import os
import re
import sys
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kong_plugins.policy.catalogue import GUARDED_KINDS, UNJUDGED_KINDS

ROOT = Path(__file__).resolve().parent.parent
KONG_YAML = ROOT / "kong" / "kong.yaml"
ENV_TEMPLATE = re.compile(r'\$\{\{\s*env\s+"([^"]*)"\s*\}\}')
"""deck's env template, so one consumers file serves deck (a Kong with a database) and this renderer alike."""
KEY = re.compile(r"[A-Za-z0-9._~+/=-]{24,}")
"""A key Kong can take from a header and nobody guesses; a placeholder (`<admin key>`) or a short key fails it."""
KONG_ENTITY_NAMESPACE = uuid.UUID("fd02801f-0957-4a15-a55a-c8d9606f30b5")
"""Kong 3.6's namespace for the ids declarative_config.lua derives from an entity's key (generate_uuid)."""
CONSUMER_ENTITIES = ("consumers", "keyauth_credentials", "acls")
CONSUMER_FIELDS = frozenset({"username", "custom_id", "id", "tags", "keyauth_credentials", "acls", "plugins"})
"""What a consumer in the consumers file may carry: key-auth is the gateway's only credential."""
CONSUMER_PLUGINS = frozenset({"rate-limiting", "request-size-limiting"})
"""Plugins a consumer may carry: Kong OSS 3.6 bundles these (rate-limiting-advanced is Enterprise)."""
"""kong.yaml's consumer entities: dev fixtures, all of them; production's come from the consumers file."""
GUARDRAIL_ID = re.compile(r"[a-z0-9]+"
                          r"|arn:aws(?:-[a-z-]+)?:bedrock:(?P<region>[a-z0-9-]{1,20}):[0-9]{12}:guardrail/[a-z0-9]+")
"""A guardrail's id or ARN, as Bedrock's guardrailIdentifier takes it (no wildcard: an exact guardrail)."""
GUARDRAIL_VERSION = re.compile(r"[1-9][0-9]{0,7}|DRAFT")
"""A published version number, or DRAFT (which changes with every edit of the guardrail: for trying one out)."""
GUARDRAIL_ROLES = ("ecommerce_ops", "guest")
"""The roles a guardrail goes on unless BEDROCK_GUARDRAIL_ROLES names others: where order, refund, payment and
coupon abuse is asked for (shop operations, with the back-office tools and customers' words in its tickets, and
untrusted trial guests). The other staff roles are left out: analysts discuss fraud to fight it, developers paste
code and prompts the prompt-attack filter misreads, and admin and other use models that cannot carry a guardrail
(mantle, gemini-flash), which bedrock-proxy refuses for a guarded role."""
TRUTHS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class RenderError(Exception):
    """The file would not be fit for production; the message says what to change (never a key)."""


@dataclass(frozen=True)
class RedisSettings:
    """One Redis for all that the pods share: budgets, Responses items and request counters."""

    host: str
    port: int = 6379
    password: str | None = None
    username: str | None = None
    ssl: bool = False
    cluster: bool = False                  # a Redis Cluster (ElastiCache cluster mode on): our plugins only
    rate_limiting_host: str | None = None  # Kong 3.6 rate-limiting's own one-server Redis, beside a cluster
    rate_limiting_port: int = 6379
    rate_limiting_local: bool = False      # or its counters per pod (policy local)

    def for_gateway_plugins(self) -> dict[str, Any]:
        """token-meter's and bedrock-proxy's `redis` record (kong_plugins/schemas.py)."""
        return {"host": self.host, "port": self.port, "ssl": self.ssl, **self._credentials(),
                **({"cluster": True} if self.cluster else {})}

    def for_rate_limiting(self) -> dict[str, Any]:
        """Kong 3.6 rate-limiting's `redis` record; over TLS it also checks the server's certificate (and its name,
        unless the host is an IP: Kong's typedefs.sni refuses an IP as server_name, and with it the whole file, on
        every pod's start). Kong OSS 3.6 speaks to one Redis server, so beside a cluster it has a server of its own
        (rate_limiting_host)."""
        host, port = (self.rate_limiting_host, self.rate_limiting_port) if self.rate_limiting_host else \
            (self.host, self.port)
        tls = {"ssl_verify": True, **({} if _is_ip(host) else {"server_name": host})} if self.ssl else {}
        return {"host": host, "port": port, "ssl": self.ssl, **tls, **self._credentials()}

    def _credentials(self) -> dict[str, str]:
        return {name: value for name, value in (("username", self.username), ("password", self.password)) if value}


def _is_ip(host: str) -> bool:
    """An IP address: Kong takes one as a Redis host, never as a TLS server name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class BedrockGuardrail:
    """An Amazon Bedrock Guardrail for some roles: bedrock-proxy's role option bedrock_guardrail."""

    identifier: str                               # id or ARN
    version: str                                  # a number, or DRAFT
    roles: tuple[str, ...] = GUARDRAIL_ROLES
    trace: bool = False                           # clients see Bedrock's assessment

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> BedrockGuardrail | None:
        """BEDROCK_GUARDRAIL_ID, _VERSION, _ROLES (comma-separated) and _TRACE; None when no id is set."""
        identifier, version, roles, trace = (environ.get(f"BEDROCK_GUARDRAIL_{name}", "").strip()
                                             for name in ("ID", "VERSION", "ROLES", "TRACE"))
        if not identifier:
            stray = [f"BEDROCK_GUARDRAIL_{n}" for n, v in (("VERSION", version), ("ROLES", roles), ("TRACE", trace))
                     if v]
            if stray:
                raise RenderError(f"{', '.join(stray)} set without BEDROCK_GUARDRAIL_ID: set the guardrail too "
                                  "(Terraform output bedrock_guardrail_arn), or unset them")
            return None
        if not GUARDRAIL_ID.fullmatch(identifier):
            raise RenderError(f"BEDROCK_GUARDRAIL_ID {identifier!r} is no guardrail: give its ARN "
                              "(arn:aws:bedrock:<region>:<account>:guardrail/<id>, Terraform output "
                              "bedrock_guardrail_arn) or its id (lowercase letters and digits)")
        if not version:
            raise RenderError("BEDROCK_GUARDRAIL_VERSION is required with BEDROCK_GUARDRAIL_ID: the version number "
                              "(Terraform output bedrock_guardrail_version), or DRAFT to follow every edit")
        if not GUARDRAIL_VERSION.fullmatch(version):
            raise RenderError(f"BEDROCK_GUARDRAIL_VERSION {version!r} is neither a version number (1, 2, ...) "
                              "nor DRAFT")
        names = tuple(dict.fromkeys(name.strip() for name in roles.split(",") if name.strip()))
        if roles and not names:
            raise RenderError("BEDROCK_GUARDRAIL_ROLES names no role: a comma-separated list such as "
                              "ecommerce_ops,guest (unset: those two)")
        if trace.lower() not in TRUTHS and trace:
            raise RenderError(f"BEDROCK_GUARDRAIL_TRACE {trace!r} is neither true nor false")
        return cls(identifier, version, names or GUARDRAIL_ROLES, TRUTHS.get(trace.lower(), False))

    @property
    def region(self) -> str | None:
        """The region an ARN names (an id is in the region the gateway calls)."""
        match = GUARDRAIL_ID.fullmatch(self.identifier)
        return match.group("region") if match else None

    def record(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "version": self.version, "trace": self.trace}


def load_consumers(path: Path, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """The operator's consumers with `${{ env "DECK_..." }}` filled in; a missing or empty file is refused."""
    if not path.is_file():
        raise RenderError(f"consumers file {path} not found: production consumers and keys come from it")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise RenderError(f"{path}: expected a mapping with a `consumers` list")
    others = sorted(set(data) - {"_format_version", "consumers"})
    if others:
        raise RenderError(f"{path}: only consumers belong here (their keyauth_credentials, acls and plugins nested "
                          f"in each), not {others}: services, routes and plugins come from kong/kong.yaml")
    consumers = data.get("consumers")
    if not isinstance(consumers, list) or not consumers:
        raise RenderError(f"{path}: no consumers")
    return fill_env(consumers, environ, str(path))


def fill_env(node: Any, environ: Mapping[str, str], where: str) -> Any:
    """Every `${{ env "NAME" }}` in the file's strings replaced by that variable's value."""
    if isinstance(node, dict):
        return {key: fill_env(value, environ, where) for key, value in node.items()}
    if isinstance(node, list):
        return [fill_env(value, environ, where) for value in node]
    if isinstance(node, str):
        return ENV_TEMPLATE.sub(lambda match: env_value(match.group(1), environ, where), node)
    return node


def env_value(name: str, environ: Mapping[str, str], where: str) -> str:
    # deck's own rule: only DECK_ variables, so nothing else of the deploying shell (AWS keys) lands in the file.
    if not name.startswith("DECK_"):
        raise RenderError(f"{where}: variable {name} must start with DECK_, as deck requires")
    value = environ.get(name)
    if not value:
        raise RenderError(f"{where}: environment variable {name} is not set")
    return value


def plugins(config: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every plugin entry, wherever the file nests it: global, service, route, consumer."""
    yield from config.get("plugins") or []
    for service in config.get("services") or []:
        yield from service.get("plugins") or []
        for route in service.get("routes") or []:
            yield from route.get("plugins") or []
    for route in config.get("routes") or []:
        yield from route.get("plugins") or []
    for consumer in config.get("consumers") or []:
        yield from consumer.get("plugins") or []


def render(base: Mapping[str, Any], consumers: list[dict[str, Any]], redis: RedisSettings,
           guardrail: BedrockGuardrail | None = None) -> dict[str, Any]:
    """kong.yaml's services, routes and plugins with these consumers instead of its dev ones, shared state on Redis,
    and the Bedrock guardrail, if any, on its roles."""
    if not redis.host:
        raise RenderError("a Redis host is required: budgets, Responses items and rate limits are shared there")
    if redis.rate_limiting_host and redis.rate_limiting_local:
        raise RenderError("rate-limiting is either on a Redis server of its own (--rate-limiting-redis-host) or "
                          "counted per pod (--rate-limiting-local), not both")
    if redis.cluster and not (redis.rate_limiting_host or redis.rate_limiting_local):
        raise RenderError("Kong 3.6's rate-limiting speaks to one Redis server, not a cluster: give it one "
                          "(--rate-limiting-redis-host) or count per pod (--rate-limiting-local)")
    config = {key: copy.deepcopy(value) for key, value in base.items() if key not in CONSUMER_ENTITIES}
    if "plugins" in config:   # a top-level plugin scoped to a consumer is one of the dev consumers'
        config["plugins"] = [plugin for plugin in config["plugins"] if not plugin.get("consumer")]
    config["consumers"] = copy.deepcopy(consumers)
    for plugin in plugins(config):
        settings = plugin.setdefault("config", {})
        if plugin["name"] == "token-meter":
            _use_redis(settings, redis.for_gateway_plugins(), storage="redis")
        elif plugin["name"] == "bedrock-proxy":
            store = settings.setdefault("openai_response_store", {})
            if store.get("storage") != "off":
                _use_redis(store, redis.for_gateway_plugins(), storage="redis")
        elif plugin["name"] == "rate-limiting" and redis.rate_limiting_local:
            settings["policy"] = "local"
        elif plugin["name"] == "rate-limiting":
            _use_redis(settings, redis.for_rate_limiting(), policy="redis")
    if guardrail is not None:
        _guard_roles(config, guardrail)
    check_consumers(config)
    return config


def _role_models(proxy: Mapping[str, Any], role: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The catalogue entries a role may use, by name."""
    models = {model["name"]: model for model in proxy.get("models") or []}
    allowed = role.get("allowed_models") or []
    return dict(models) if "*" in allowed else {name: models[name] for name in allowed if name in models}


def _guard_roles(config: Mapping[str, Any], guardrail: BedrockGuardrail) -> None:
    """Put the guardrail on its roles in every bedrock-proxy, refusing a role it would leave with nothing to serve
    or that calls Bedrock outside the guardrail's region (Bedrock applies a guardrail only in its own)."""
    proxies = [plugin.setdefault("config", {}) for plugin in plugins(config) if plugin["name"] == "bedrock-proxy"]
    if not proxies:
        raise RenderError("BEDROCK_GUARDRAIL_ID is set, but the config has no bedrock-proxy plugin to carry it")
    for proxy in proxies:
        roles = {role["name"]: role for role in proxy.get("roles") or []}
        unknown = [name for name in guardrail.roles if name not in roles]
        if unknown:
            raise RenderError(f"BEDROCK_GUARDRAIL_ROLES: {', '.join(unknown)} not among bedrock-proxy's roles "
                              f"{', '.join(sorted(roles))}")
        for name in guardrail.roles:
            role, models = roles[name], _role_models(proxy, roles[name])
            guarded = {n: m for n, m in models.items() if (m.get("kind") or "claude") in GUARDED_KINDS}
            if not guarded:
                raise RenderError(f"role {name}: none of its models can apply a Bedrock guardrail (kinds "
                                  f"{', '.join(sorted(GUARDED_KINDS))}), so every call would be refused; leave it "
                                  "out of BEDROCK_GUARDRAIL_ROLES")
            if role.get("default_model") not in guarded:
                raise RenderError(f"role {name}: its default model {role.get('default_model')} cannot apply a "
                                  "Bedrock guardrail, so calls that name no model would be refused")
            region = guardrail.region
            home = proxy.get("region") or "us-east-1"
            called_in = _profile_regions(role)             # a model the role calls through its profile: there
            elsewhere = sorted(n for n, m in guarded.items()
                               if region and (called_in.get(n) or m.get("region") or home) != region)
            if elsewhere:
                raise RenderError(f"role {name}: {', '.join(elsewhere)} run outside {region}, the guardrail's "
                                  "region, and Bedrock applies a guardrail only in its own region")
            role["bedrock_guardrail"] = guardrail.record()


def _profile_regions(role: Mapping[str, Any]) -> dict[str, str]:
    """The region of the role's application inference profile for each model it has one for (the first, as
    Catalogue.for_role takes it): its calls of that model go there."""
    regions: dict[str, str] = {}
    for profile in role.get("inference_profiles") or []:
        parts = str(profile.get("arn") or "").split(":")
        if len(parts) > 3 and parts[3]:
            regions.setdefault(str(profile.get("model")), parts[3])
    return regions


def unguarded_models(config: Mapping[str, Any]) -> list[str]:
    """For each role with a guardrail, the models it may use whose calls cannot carry one (images, Mantle,
    OpenAI-compatible): bedrock-proxy refuses those calls with a 403 while the role is guarded."""
    notes = []
    for plugin in plugins(config):
        if plugin["name"] != "bedrock-proxy":
            continue
        proxy = plugin.get("config") or {}
        for role in proxy.get("roles") or []:
            lost = sorted(n for n, m in _role_models(proxy, role).items()
                          if (m.get("kind") or "claude") not in GUARDED_KINDS | UNJUDGED_KINDS)
            if role.get("bedrock_guardrail") and lost:
                notes.append(f"role {role['name']}: {', '.join(lost)} cannot carry its Bedrock guardrail, so its "
                             "calls of them are refused (403) while it has one")
    return notes


def _use_redis(settings: dict[str, Any], record: dict[str, Any], **mode: str) -> None:
    """Point one plugin's store at Redis, keeping any tuning it had (timeouts)."""
    settings.update(mode, redis={**(settings.get("redis") or {}), **record})


def consumer_id(username: str) -> str:
    """The id Kong gives a consumer with this username and no `id`: what Redis keys of the Responses store
    name (the GDPR runbook deletes by it), the same on every pod and after every restart."""
    return str(uuid.uuid5(uuid.uuid5(KONG_ENTITY_NAMESPACE, "consumers"), username))


def check_consumers(config: Mapping[str, Any]) -> None:
    """Refuse dev or guessable keys, a key or name given twice, and a role the plugins do not know or that the
    consumer's acl groups contradict (the acl plugin gates admin routes by group, our plugins go by the tag)."""
    proxy = next((p.get("config") or {} for p in plugins(config) if p["name"] == "bedrock-proxy"), {})
    prefix = proxy.get("role_tag_prefix", "role:")
    roles = {role["name"] for role in proxy.get("roles") or []}
    problems: list[str] = []
    names, keys = Counter(), Counter()
    for consumer in config["consumers"]:
        name = consumer.get("username") or consumer.get("custom_id") or "(no username)"
        names[name] += 1
        unknown = sorted(set(consumer) - CONSUMER_FIELDS)
        if unknown:
            problems.append(f"consumer {name}: {', '.join(unknown)} not taken (a consumer here has only "
                            f"{', '.join(sorted(CONSUMER_FIELDS))}: other credentials and consumer groups are not "
                            "Kong OSS key-auth's, and Kong refuses a field it does not know, on every pod's start)")
        for plugin in consumer.get("plugins") or []:
            if plugin.get("name") not in CONSUMER_PLUGINS:
                problems.append(f"consumer {name}: plugin {plugin.get('name')} is not one of "
                                f"{', '.join(sorted(CONSUMER_PLUGINS))}")
        if not consumer.get("username") and not consumer.get("id"):
            problems.append(f"consumer {name}: a username is required (Kong derives the consumer's id from it; "
                            "without one each pod draws its own id, splitting what Redis keeps per consumer)")
        for credential in consumer.get("keyauth_credentials") or []:
            key = str(credential.get("key") or "")
            keys[key] += 1
            if key.startswith("dev-"):
                problems.append(f"consumer {name}: a dev- key; the well-known dev keys must never reach production")
            elif not KEY.fullmatch(key):
                problems.append(f"consumer {name}: a key must be 24 or more letters, digits or -._~+/= "
                                f"(got {len(key)} characters: a placeholder left, or too short to be safe)")
        tagged = [tag.removeprefix(prefix) for tag in consumer.get("tags") or [] if tag.startswith(prefix)]
        groups = {acl.get("group") for acl in consumer.get("acls") or []} & roles
        if len(tagged) > 1 or not set(tagged) <= roles:
            problems.append(f"consumer {name}: tags {tagged} must name at most one role of bedrock-proxy's "
                            f"{sorted(roles)}")
        elif groups != set(tagged):
            problems.append(f"consumer {name}: acls groups {sorted(groups)} must match its role tag {tagged}")
    problems += [f"consumer {name} is given {n} times" for name, n in names.items() if n > 1]
    problems += [f"one key is given {n} times" for n in keys.values() if n > 1]
    if problems:
        raise RenderError("; ".join(problems))


def render_files(kong_yaml: Path, consumers_file: Path, redis: RedisSettings, environ: Mapping[str, str],
                 guardrail: BedrockGuardrail | None = None) -> dict[str, Any]:
    return render(yaml.safe_load(kong_yaml.read_text()), load_consumers(consumers_file, environ), redis, guardrail)


class LiteralDumper(yaml.SafeDumper):
    """Multi-line strings (Lua, PromQL, dashboard JSON) as literal blocks, readable as in the source files."""


LiteralDumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))


def dump(config: Mapping[str, Any], source: str) -> str:
    header = (f"# Rendered by deploy/render_config.py from kong/kong.yaml and {source}; holds API keys and\n"
              "# Redis's password: a Kubernetes Secret, never git. Edit the sources and render again.\n")
    return header + yaml.dump(dict(config), Dumper=LiteralDumper, sort_keys=False, width=120, allow_unicode=True)


def main(argv: list[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.render_config", description=__doc__.split("\n\n")[0],
        epilog="Environment: BEDROCK_GUARDRAIL_ID (ARN or id) and BEDROCK_GUARDRAIL_VERSION put an Amazon Bedrock "
               "Guardrail on the roles in BEDROCK_GUARDRAIL_ROLES (default ecommerce_ops,guest); "
               "BEDROCK_GUARDRAIL_TRACE=true shows clients its assessment.")
    parser.add_argument("--consumers", type=Path, required=True,
                        help='the operator\'s consumers file (keys as ${{ env "DECK_..." }}), kept out of git')
    parser.add_argument("--redis-host", required=True)
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument("--redis-username")
    parser.add_argument("--redis-ssl", action="store_true", help="TLS to Redis (ElastiCache in-transit encryption)")
    parser.add_argument("--redis-password-env", default="REDIS_PASSWORD", metavar="NAME",
                        help="the environment variable with Redis's password; never on a command line")
    parser.add_argument("--redis-cluster", action="store_true",
                        help="a Redis Cluster (ElastiCache cluster mode on) for budgets and Responses items")
    parser.add_argument("--rate-limiting-redis-host", metavar="HOST",
                        help="Kong's rate-limiting on this one-server Redis (same credentials and TLS)")
    parser.add_argument("--rate-limiting-redis-port", type=int, default=6379)
    parser.add_argument("--rate-limiting-local", action="store_true",
                        help="Kong's rate-limiting counted per pod (policy local), not on Redis")
    parser.add_argument("--kong-yaml", type=Path, default=KONG_YAML)
    parser.add_argument("-o", "--output", type=Path, help="written with mode 0600 (default: stdout)")
    args = parser.parse_args(argv)
    redis = RedisSettings(args.redis_host, args.redis_port, environ.get(args.redis_password_env) or None,
                          args.redis_username, args.redis_ssl, args.redis_cluster, args.rate_limiting_redis_host,
                          args.rate_limiting_redis_port, args.rate_limiting_local)
    try:
        config = render_files(args.kong_yaml, args.consumers, redis, environ, BedrockGuardrail.from_environ(environ))
    except RenderError as refused:
        print(f"render_config: refused: {refused}", file=sys.stderr)
        return 1
    for note in unguarded_models(config):
        print(f"render_config: note: {note}", file=sys.stderr)
    text = dump(config, args.consumers.name)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    with os.fdopen(os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
