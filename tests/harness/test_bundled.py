"""Bundled plugins emulated in Python: statuses, bodies, headers, priorities."""
from __future__ import annotations

import json

import pytest
import requests

from tests.harness.conftest import build, read_jsonl
from tests.kong_harness.harness import HarnessStartError

YAML = """
_format_version: "3.0"
services:
- name: echo
  url: {up}
  routes:
  - name: ka
    paths: [/ka]
    plugins:
    - name: key-auth
      config: {{key_names: [X-API-Key, apikey, x-api-key], hide_credentials: true}}
  - name: acl
    paths: [/acl]
    plugins:
    - {{name: key-auth}}
    - {{name: acl, config: {{allow: [gold]}}}}
  - name: rl
    paths: [/rl]
    plugins:
    - {{name: rate-limiting, config: {{minute: 2, hour: 10, limit_by: ip}}}}
  - name: rlc
    paths: [/rlc]
    plugins:
    - {{name: key-auth}}
    - {{name: rate-limiting, config: {{minute: 5}}}}
  - name: rsl
    paths: [/rsl]
    plugins:
    - {{name: request-size-limiting, config: {{allowed_payload_size: 1, size_unit: kilobytes}}}}
  - name: cid
    paths: [/cid]
    plugins:
    - {{name: correlation-id, config: {{echo_downstream: true, generator: uuid}}}}
  - name: flog
    paths: [/flog]
    plugins:
    - {{name: file-log, config: {{path: "{flog}"}}}}
    - {{name: prometheus, config: {{status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true}}}}
  - name: flogc
    paths: [/flogc]
    plugins:
    - name: file-log
      config:
        path: "{flog}"
        custom_fields_by_lua:
          request.headers.x-secret: "return nil"
          request.uri: return ngx.var.uri
          seen: |
            local method = kong.request.get_method()
            return "seen " .. method .. " " .. (kong.request.get_query_arg("q") or "")
consumers:
- username: alice
  keyauth_credentials: [{{key: alice-key}}]
  acls: [{{group: gold}}]
- username: bob
  keyauth_credentials: [{{key: bob-key}}]
  acls: [{{group: silver}}]
  plugins:
  - {{name: rate-limiting, config: {{minute: 50}}}}
"""


@pytest.fixture(scope="module")
def kong(upstream, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bundled")
    h = build(tmp, YAML.format(up=upstream.url, flog=tmp / "file.log"))
    h.flog = tmp / "file.log"
    yield h
    h.stop()


def _body(r):
    return json.loads(r.text)


def test_key_auth_failures(kong):
    r = requests.get(kong.proxy_url + "/ka")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Key realm="kong"'
    assert _body(r) == {"message": "No API key found in request", "request_id": r.headers["X-Kong-Request-Id"]}
    assert r.text.startswith('{\n  "message":"No API key found in request",\n  "request_id":"')
    r = requests.get(kong.proxy_url + "/ka", headers={"apikey": "wrong"})
    assert r.status_code == 401 and _body(r)["message"] == "Unauthorized"  # 3.6.1 ERR_INVALID_AUTH_CRED
    assert "WWW-Authenticate" not in r.headers


@pytest.mark.parametrize("how", ["X-API-Key", "x-api-key", "query"])
def test_key_auth_success(kong, upstream, how):
    if how == "query":
        r = requests.get(kong.proxy_url + "/ka", params={"apikey": "alice-key", "q": "1"})
    else:
        r = requests.get(kong.proxy_url + "/ka", headers={how: "alice-key"})
    assert r.status_code == 200
    echoed = _body(r)
    headers = {k.lower(): v for k, v in echoed["headers"]}
    assert headers["x-consumer-username"] == "alice" and "x-consumer-id" in headers
    assert "x-credential-identifier" in headers and "x-anonymous-consumer" not in headers
    assert "x-api-key" not in headers and "apikey" not in echoed["path"]  # hide_credentials
    if how == "query":
        assert echoed["path"] == "/?q=1"


def test_acl(kong):
    r = requests.get(kong.proxy_url + "/acl", headers={"apikey": "bob-key"})
    assert r.status_code == 403 and _body(r)["message"] == "You cannot consume this service"
    r = requests.get(kong.proxy_url + "/acl", headers={"apikey": "alice-key"})
    assert r.status_code == 200
    assert ["X-Consumer-Groups", "gold"] in _body(r)["headers"]


def test_rate_limiting(kong):
    r1 = requests.get(kong.proxy_url + "/rl")
    assert r1.status_code == 200
    assert r1.headers["X-RateLimit-Limit-Minute"] == "2" and r1.headers["X-RateLimit-Remaining-Minute"] == "1"
    assert r1.headers["X-RateLimit-Limit-Hour"] == "10" and r1.headers["RateLimit-Limit"] == "2"
    assert r1.headers["RateLimit-Remaining"] == "1" and 1 <= int(r1.headers["RateLimit-Reset"]) <= 60
    assert requests.get(kong.proxy_url + "/rl").status_code == 200
    r3 = requests.get(kong.proxy_url + "/rl")
    assert r3.status_code == 429 and _body(r3)["message"] == "API rate limit exceeded"
    assert r3.headers["Retry-After"] == r3.headers["RateLimit-Reset"]
    assert r3.headers["X-RateLimit-Remaining-Minute"] == "0"


def test_consumer_scoped_config_applies_after_authentication(kong):
    # plugins_iterator.lua lookup_cfg: a consumer-only config beats a route-only one,
    # and key-auth (1250) authenticated before rate-limiting (910) is collected.
    alice = requests.get(kong.proxy_url + "/rlc", headers={"apikey": "alice-key"})
    bob = requests.get(kong.proxy_url + "/rlc", headers={"apikey": "bob-key"})
    assert alice.headers["X-RateLimit-Limit-Minute"] == "5"
    assert bob.headers["X-RateLimit-Limit-Minute"] == "50"


def test_request_size_limiting(kong):
    assert requests.post(kong.proxy_url + "/rsl", data=b"x" * 100).status_code == 200
    r = requests.post(kong.proxy_url + "/rsl", data=b"x" * 2000)
    assert r.status_code == 413 and _body(r)["message"] == "Request size limit exceeded"


def test_correlation_id(kong):
    r = requests.get(kong.proxy_url + "/cid")
    cid = r.headers["Kong-Request-ID"]
    assert len(cid) == 36 and ["Kong-Request-ID", cid] in _body(r)["headers"]
    r = requests.get(kong.proxy_url + "/cid", headers={"Kong-Request-ID": "given"})
    assert r.headers["Kong-Request-ID"] == "given"


def test_file_log_and_prometheus(kong):
    r = requests.get(kong.proxy_url + "/flog?x=1")
    assert r.status_code == 200
    assert kong.wait_for_log(r.headers["X-Kong-Request-Id"], 5)
    entries = read_jsonl(kong.flog)
    entry = [e for e in entries if e["request"]["id"] == r.headers["X-Kong-Request-Id"]][0]
    assert entry["request"]["querystring"] == {"x": "1"} and entry["response"]["status"] == 200
    assert entry["route"]["name"] == "flog" and entry["service"]["name"] == "echo"
    assert '"uri":"\\/flog?x=1"' in kong.flog.read_text()  # cjson escapes "/"
    metrics = requests.get(kong.status_url + "/metrics").text
    assert 'kong_http_requests_total{service="echo",route="flog",code="200",source="service",consumer=""} 1' in metrics
    assert 'kong_kong_latency_ms_bucket{service="echo",route="flog",le="+Inf"} 1' in metrics
    assert 'kong_bandwidth_bytes{service="echo",route="flog",direction="ingress",consumer=""}' in metrics


def test_file_log_custom_fields_by_lua_run_in_the_log_phase_and_nil_removes_a_field(kong):
    """file-log/handler.lua: set_serialize_value(key, sandbox(expression, {env = {kong, ngx}})())."""
    r = requests.get(kong.proxy_url + "/flogc?q=7", headers={"X-Secret": "s3cret", "X-Other": "kept"})
    assert r.status_code == 200 and kong.wait_for_log(r.headers["X-Kong-Request-Id"], 5)
    entry = [e for e in read_jsonl(kong.flog) if e["request"]["id"] == r.headers["X-Kong-Request-Id"]][0]
    assert "x-secret" not in entry["request"]["headers"] and entry["request"]["headers"]["x-other"] == "kept"
    assert entry["request"]["uri"] == "/flogc" and entry["seen"] == "seen GET 7"
    assert "s3cret" not in kong.flog.read_text()


def test_a_custom_field_that_does_not_compile_refuses_the_config(upstream, tmp_path):
    bad = YAML.format(up=upstream.url, flog=tmp_path / "file.log").replace("return ngx.var.uri", "return ((")
    with pytest.raises(HarnessStartError, match="error parsing file-log"):
        build(tmp_path, bad)


def test_status_endpoints(kong):
    assert requests.get(kong.status_url + "/status/ready").json() == {"message": "ready"}
    assert requests.get(kong.status_url + "/status").json()["database"]["reachable"] is True
