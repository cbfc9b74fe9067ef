"""Kong's access log, wherever Kong is configured (kong.conf, the image, compose, Helm): file-log's JSON line only.

Why: Kong 3.6.1's own proxy access log (kong/templates/nginx_kong.lua, `log_format kong_log_format`) writes
`"$request"`, the request line as the client sent it, query string included, and the image, compose and the chart
all sent it to stdout. A key sent as `?apikey=` (refused with a 401) was printed there in clear beside file-log's
line, which redacts it (tests/e2e/test_no_leaks_on_new_paths.py). Kong's `proxy_access_log = off` drops that log.
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def kong_conf_value(name: str) -> str | None:
    for line in (ROOT / "kong/kong.conf").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and key.strip() == name:
            return value.strip()
    return None


def test_nginx_s_own_access_log_is_off_everywhere_kong_is_configured():
    assert kong_conf_value("proxy_access_log") == "off"
    image = re.findall(r"\bKONG_PROXY_ACCESS_LOG=(\S+)", (ROOT / "Dockerfile.kong").read_text())
    assert image == ["off"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["kong"]["environment"]
    assert [item for item in compose if item.startswith("KONG_PROXY_ACCESS_LOG=")] == ["KONG_PROXY_ACCESS_LOG=off"]
    # The chart sets KONG_PROXY_ACCESS_LOG=/dev/stdout unless env says otherwise, and refuses a YAML boolean
    # (an unquoted `off`) for any *_log key.
    helm = yaml.safe_load((ROOT / "helm/kong-values.yaml").read_text())["env"]
    assert helm.get("proxy_access_log") == "off"


def test_file_log_still_writes_the_access_log_to_stdout():
    config = yaml.safe_load((ROOT / "kong/kong.yaml").read_text())
    file_log = [plugin for plugin in config["plugins"] if plugin["name"] == "file-log"]
    assert [plugin["config"]["path"] for plugin in file_log] == ["/dev/stdout"]
