"""PDK calls and RPC shapes against the stock kong-pdk 0.36 server."""
from __future__ import annotations

import json
import os

import msgpack
import pytest
import requests

from tests.harness.conftest import build, read_jsonl
from tests.kong_harness import lua_msgpack

YAML = """
_format_version: "3.0"
services:
- name: echo
  url: {up}
  routes:
  - {{name: pdk, paths: [/pdk]}}
  - {{name: auth, paths: [/auth]}}
  - {{name: exit, paths: [/exit]}}
  - {{name: boom, paths: [/boom]}}
  - {{name: unknown, paths: [/unknown]}}
  - {{name: rawbody, paths: [/rawbody]}}
  - {{name: env, paths: [/env]}}
- name: shared
  url: {up}/shared
  plugins:
  - name: py_second
    config: {{label: svc-level}}
  routes:
  - {{name: s1, paths: [/s1]}}
  - {{name: s2, paths: [/s2]}}
plugins:
- {{name: py_probe, route: pdk, config: {{out: "{out}"}}}}
- {{name: key-auth, route: auth}}
- {{name: py_probe, route: auth, config: {{out: "{out}", tag: auth}}}}
- {{name: py_probe, route: exit, config: {{mode: exit}}}}
- {{name: py_second, route: exit}}
- {{name: py_probe, route: boom, config: {{mode: raise_after_pdk}}}}
- {{name: py_second, route: boom, config: {{label: after-boom}}}}
- {{name: py_probe, route: unknown, config: {{mode: unknown, out: "{out}"}}}}
- {{name: py_probe, route: rawbody, config: {{mode: raw_body, out: "{out}"}}}}
- {{name: py_probe, route: env, config: {{mode: env, out: "{out}"}}}}
consumers:
- username: alice
  custom_id: cust-1
  keyauth_credentials:
  - key: secret
"""


@pytest.fixture(scope="module")
def kong(upstream, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pdk")
    out = tmp / "out.jsonl"
    process_env = {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "us-east-1", "SECRET_TOKEN": "s3",
                   "TZ": "UTC", "HOME": "/root"}
    h = build(tmp, YAML.format(up=upstream.url, out=out), process_env=process_env,
              env={"KONG_NGINX_MAIN_ENV": "AWS_REGION; env HOME; env FOO=bar",
                   "KONG_NGINX_HTTP_CLIENT_BODY_BUFFER_SIZE": "1k", "KONG_LOG_LEVEL": "info"},
              rpc_timeout=1.5)
    h.out = out
    yield h
    h.stop()


def _records(h, rid, **match):
    return [r for r in read_jsonl(h.out) if r.get("rid") == rid and all(r.get(k) == v for k, v in match.items())]


def test_pdk_round_trip_and_log_snapshot(kong, upstream):
    r = requests.post(kong.proxy_url + "/pdk/sub?a=1&a=2&flag", data=b"hello body",
                      headers={"X-Multi": "v1", "Authorization": "Bearer t"})
    assert r.status_code == 200
    rid = r.headers["X-Kong-Request-Id"]
    assert kong.wait_for_log(rid, 5)
    access = _records(kong, rid, phase="access")[0]
    assert all(t == "list" for t in access["headers_types"].values())  # fix_mmap: headers are lists
    assert access["headers"]["x-multi"] == ["v1"]
    assert access["body_type"] == "bytes" and access["body"] == "hello body"  # fix_raw -> msgpack bin
    assert access["query"] == {"a": ["1", "2"], "flag": []}
    assert access["path"] == "/pdk/sub" and access["route_name"] == "pdk"
    assert access["seen"] == "set-by-probe"  # ngx.req.set_header is visible to get_header
    assert access["config"]["__plugin_id"] == access["plugin_id"]
    echoed = json.loads(r.text)
    assert ["X-Probe", "set-by-probe"] in echoed["headers"]
    log = _records(kong, rid, phase="log")[0]
    ser = log["serialize"]
    assert ser["request"]["id"] == rid and ser["request"]["headers"]["x-probe"] == "set-by-probe"
    assert ser["request"]["headers"]["authorization"] == "REDACTED"
    assert ser["request"]["querystring"] == {"a": ["1", "2"], "flag": True}
    assert ser["response"]["status"] == 200 and ser["route"]["name"] == "pdk" and ser["source"] == "service"
    assert ser["upstream_uri"] == "/sub?a=1&a=2&flag" and log["shared"] == "shared-value" and log["status"] == 200
    assert set(ser) >= {"latencies", "tries", "client_ip", "started_at", "service", "upstream_status"}
    trace = kong.request_stats(rid)["trace"]
    by_pdk = {t["pdk_method"]: t for t in trace if t["pdk_method"]}
    assert by_pdk["kong.request.get_raw_body"]["params"][0]["Data"] == b"hello body"  # msgpack bin
    assert "Data" not in by_pdk["kong.client.get_consumer"]["params"][0]  # nil result: Step without Data
    assert by_pdk["kong.request.get_query"]["params"][0]["Data"] == {"a": ["1", "2"], "flag": []}
    assert isinstance(by_pdk["kong.log.serialize"]["params"][0]["Data"], str)  # a JSON string


def test_rpc_shapes(kong):
    r = requests.get(kong.proxy_url + "/auth", params={"apikey": "secret"})
    assert r.status_code == 200
    rid = r.headers["X-Kong-Request-Id"]
    assert kong.wait_for_log(rid, 5)
    stats = kong.request_stats(rid)
    trace = stats["trace"]
    assert stats["rpc_calls"] == len(trace) and set(stats["by_plugin"]["py_probe"]) == {"access", "log"}
    start = trace[0]
    assert start["method"] == "plugin.StartInstance"
    (params,) = start["params"]
    assert set(params) == {"Name", "Config"} and params["Name"] == "py_probe"
    conf = json.loads(params["Config"])
    assert conf["tag"] == "auth" and conf["mode"] == "pdk"  # defaults filled
    assert {"route_id", "__plugin_id", "__key__", "__seq__"} <= set(conf)
    assert conf["__key__"] == "plugins:py_probe:%s::::0dc6f45b-8f8d-40d2-a504-473544ee190b" % conf["route_id"]
    assert "service_id" not in conf and "consumer_id" not in conf
    assert trace[1]["method"] == "plugin.HandleEvent"
    assert trace[1]["params"] == [{"InstanceId": start["result"]["Id"], "EventName": "access"}]
    steps = {t["pdk_method"]: t["method"] for t in trace if t["pdk_method"]}
    assert steps["kong.request.get_headers"] == "plugin.StepMultiMap"
    assert steps["kong.client.get_consumer"] == "plugin.StepConsumer"
    assert steps["kong.router.get_route"] == "plugin.StepRoute"
    assert steps["kong.request.get_path"] == "plugin.Step"
    consumer_step = next(t for t in trace if t["pdk_method"] == "kong.client.get_consumer")
    assert consumer_step["params"][0]["Data"]["username"] == "alice"
    access_steps = [t for t in trace if t["params"] and isinstance(t["params"][0], dict)
                    and t["params"][0].get("EventId") == trace[1]["result"]["EventId"]]
    assert access_steps[-1]["result"]["Data"] == "ret"
    # the consumer seen by Python is Kong's entity row
    access = _records(kong, rid, phase="access")[0]
    assert access["consumer"]["username"] == "alice" and access["consumer"]["custom_id"] == "cust-1"
    # raw bytes of the StartInstance call decode to the same message
    raw = next(c for c in kong.rpc_socket_bytes if c["request_id"] == rid and c["method"] == "plugin.StartInstance")
    msg = msgpack.unpackb(raw["sent"])
    assert msg[0] == 0 and msg[2] == "plugin.StartInstance" and msg[3] == [params]
    assert raw["sent"] == lua_msgpack.pack([0, msg[1], "plugin.StartInstance", [params]])


def test_instance_per_plugin_entity(kong):
    ids = []
    for path in ("/s1", "/s2", "/s1"):
        r = requests.get(kong.proxy_url + path)
        assert r.status_code == 200
        stats = kong.request_stats(r.headers["X-Kong-Request-Id"])
        ids.append([t for t in stats["trace"] if t["method"] == "plugin.StartInstance"])
        assert ["X-Second", "svc-level"] in json.loads(r.text)["headers"]
    assert len(ids[0]) == 1 and ids[1] == [] and ids[2] == []  # one service-level entity, one instance


def test_exit_with_table_body_stops_later_plugins(kong):
    r = requests.get(kong.proxy_url + "/exit")
    assert r.status_code == 418
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.text == '{"probe":"exit","n":1}' and r.headers["Content-Length"] == str(len(r.text))
    assert r.headers["X-Probe-Exit"] == "yes" and r.headers["Server"] == "kong/3.6.1"
    assert "X-Kong-Response-Latency" in r.headers
    rid = r.headers["X-Kong-Request-Id"]
    assert kong.wait_for_log(rid, 5)
    stats = kong.request_stats(rid)
    assert "py_second" not in stats["by_plugin"]  # no later plugin's access ran
    trace = stats["trace"]
    exits = [i for i, t in enumerate(trace)
             if isinstance((t["result"] or {}).get("Data"), dict) and t["result"]["Data"]["Method"] == "kong.response.exit"]
    assert len(exits) == 1
    event_id = trace[exits[0]]["result"]["EventId"]
    # Kong yields the plugin coroutine inside kong.response.exit: that event never gets a Step
    assert not [t for t in trace[exits[0] + 1:]
                if t["params"] and isinstance(t["params"][0], dict) and t["params"][0].get("EventId") == event_id]


def test_plugin_raising_after_pdk_call_fails_open(kong):
    # kong-pdk never answers the Step once the handler died; Kong's cosocket read times out
    # (rpc_timeout, 60 s by default), bridge_loop returns "no data", Kong logs it and goes on.
    r = requests.get(kong.proxy_url + "/boom")
    assert r.status_code == 200  # the request continues without the plugin
    assert ["X-Second", "after-boom"] in json.loads(r.text)["headers"]
    rid = r.headers["X-Kong-Request-Id"]
    errors = [line for line in kong.error_log if rid in line and "[error]" in line]
    assert any("[py_probe] no data" in line for line in errors)
    assert any("probe boom after a PDK call" in line for line in kong.plugin_server_output("py"))


def test_unknown_pdk_method_steps_with_nil(kong):
    r = requests.get(kong.proxy_url + "/unknown")
    assert r.status_code == 200
    rid = r.headers["X-Kong-Request-Id"]
    assert kong.wait_for_log(rid, 5)
    assert _records(kong, rid)[0]["unknown"] == [None, None]
    assert any("could not find pdk method: kong.request.no_such_method" in line for line in kong.error_log)


def test_get_raw_body_over_buffer_size(kong):
    small = requests.post(kong.proxy_url + "/rawbody", data=b"x" * 100)
    assert small.status_code == 200
    assert _records(kong, small.headers["X-Kong-Request-Id"])[0]["raw_body_is_none"] is False
    big = requests.post(kong.proxy_url + "/rawbody", data=b"x" * 4096)  # > client_body_buffer_size (1k)
    # Kong 3.6.1: get_raw_body returns nil, but mp_rpc's fix_raw(nil) makes lua-MessagePack fail
    # (#str on nil) while packing the Step -> the access handler errors -> 500, plugin thread left waiting.
    assert big.status_code == 500
    assert '"message":"An unexpected error occurred"' in big.text
    assert any("attempt to get length of local 'str' (a nil value)" in line for line in kong.error_log)


def test_plugin_server_environment_is_cleared(kong):
    r = requests.get(kong.proxy_url + "/env")
    rid = r.headers["X-Kong-Request-Id"]
    assert kong.wait_for_log(rid, 5)
    env = _records(kong, rid)[0]["env"]
    shell_added = {"PWD", "SHLVL", "_", "LC_CTYPE"}  # added by sh (PWD) and CPython (PEP 538)
    assert set(env) - shell_added == {"TZ", "AWS_REGION", "HOME", "FOO"}
    assert env["AWS_REGION"] == "us-east-1" and env["FOO"] == "bar" and "SECRET_TOKEN" not in env
