"""Start-up: kong.conf/env loading, plugin dumps, declarative validation, routing."""
from __future__ import annotations

import json
import os

import pytest

from tests.harness.conftest import BAD_PLUGINS_DIR, PLUGINS_DIR, build, pdk_server, plugin_env
from tests.kong_harness import HarnessStartError, KongHarness
from tests.kong_harness.conf import load, parse_nginx_main_env, worker_environment
from tests.kong_harness.plugin_info import collect_plugin_infos
from tests.kong_harness.conf import ServerDef
from tests.kong_harness.router import Router


def test_conf_file_env_overrides_and_pluginserver_keys(tmp_path):
    conf_file = tmp_path / "kong.conf"
    conf_file.write_text(
        "plugins = bundled,py-one   # comment\n"
        "pluginserver_names = My-Server\n"
        "pluginserver_my_server_start_cmd = /bin/true\n"
        "nginx_main_env = A; env B; env C=x\n"
        "nginx_http_client_body_buffer_size = 16k\n"
        "headers = off\n"
        "unknown_key = whatever\n")
    conf = load(str(conf_file), {"KONG_PLUGINSERVER_MY_SERVER_SOCKET": "/tmp/s.sock"}, {"KONG_LOG_LEVEL": "info"})
    assert "py-one" in conf.loaded_plugins and "key-auth" in conf.loaded_plugins
    sdef = conf.server_defs[0]
    assert (sdef.name, sdef.socket, sdef.start_command) == ("my-server", "/tmp/s.sock", "/bin/true")
    assert conf.client_body_buffer_size == 16384 and conf.log_level == "info"
    assert conf.enabled_headers == set()
    assert parse_nginx_main_env("A; env B; env C=x") == {"A": None, "B": None, "C": "x"}
    assert worker_environment({"A": None, "C": "x"}, {"A": "1", "PATH": "/bin", "TZ": "UTC"}) == \
        {"TZ": "UTC", "A": "1", "C": "x"}
    default = load(None, {"KONG_PLUGINSERVER_NAMES": "py"}, {})
    assert default.server_defs[0].socket == "/usr/local/kong/py.socket"
    assert "X-Kong-Request-Id" in default.enabled_headers_upstream and default.client_body_buffer_size == 8192


def test_dump_parsing_bare_array_and_protocol_object(tmp_path):
    pdk = pdk_server()
    logs = []
    sdef = ServerDef("py", "/x", None, "%s -d %s --dump-all-plugins" % (pdk, PLUGINS_DIR))
    infos = collect_plugin_infos([sdef], dict(os.environ), lambda lvl, msg: logs.append(msg))
    assert infos["py_probe"].priority == 1000 and infos["py_probe"].version == "0.1.0"
    assert set(infos["py_probe"].phases) == {"access", "log"}
    wrapped = tmp_path / "dump.json"
    wrapped.write_text(json.dumps({"Protocol": "MsgPack:1", "Plugins": [{"Name": "z", "Priority": 1,
                                                                         "Version": "1.0.0", "Phases": []}]}))
    sdef2 = ServerDef("other", "/y", None, "cat %s" % wrapped)
    assert "z" in collect_plugin_infos([sdef2], dict(os.environ), lambda *a: None)


def test_not_a_plugin_info_table_fails_start(tmp_path):
    env = plugin_env(str(tmp_path), KONG_PLUGINSERVER_PY_QUERY_CMD="echo WARN - oops")
    (tmp_path / "kong.yaml").write_text('_format_version: "3.0"\n')
    with pytest.raises(HarnessStartError) as ei:
        KongHarness(declarative_config=str(tmp_path / "kong.yaml"), env=env, prefix=str(tmp_path)).start()
    assert str(ei.value) == "Not a plugin info table: \necho WARN - oops\nWARN - oops\n"


def test_plugin_without_version_fails_start(tmp_path):
    env = plugin_env(str(tmp_path), plugins_dir=BAD_PLUGINS_DIR, plugins="bundled,py_nover")
    (tmp_path / "kong.yaml").write_text('_format_version: "3.0"\n')
    with pytest.raises(HarnessStartError, match=r'Plugin "py_nover" cannot be loaded because its VERSION field '
                                                r'does not follow the "x.y.z" format, got: "userdata: NULL"'):
        KongHarness(declarative_config=str(tmp_path / "kong.yaml"), env=env, prefix=str(tmp_path)).start()
    env = plugin_env(str(tmp_path), plugins="bundled,py_missing")
    with pytest.raises(HarnessStartError, match="py_missing plugin is enabled but not installed"):
        KongHarness(declarative_config=str(tmp_path / "kong.yaml"), env=env, prefix=str(tmp_path)).start()


@pytest.mark.parametrize("doc,fragment", [
    ('_format_version: "3.0"\nconsumer_groups: []\n', "in 'consumer_groups': unknown field"),
    ('_format_version: "2.0"\n', "in '_format_version': expected one of: 1.1, 2.1, 3.0"),
    ('services:\n- {name: s, host: h}\n', "in '_format_version': required field missing"),
    ('_format_version: "3.0"\nservices:\n- name: s\n  host: h\n  routes:\n  - paths: [/a]\n    strip_path: "no"\n',
     "        in 'strip_path': expected a boolean"),
    ('_format_version: "3.0"\nplugins:\n- name: nope\n',
     "in 'name': plugin 'nope' not enabled; add it to the 'plugins' configuration property"),
    ('_format_version: "3.0"\nplugins:\n- name: py_probe\n  config: {mode: bogus, extra: 1}\n',
     "in 'mode': expected one of: pdk, exit"),
    ('_format_version: "3.0"\nplugins:\n- name: py_probe\n  config: {extra: 1}\n', "in 'extra': unknown field"),
    ('_format_version: "3.0"\nplugins:\n- name: key-auth\n  consumer: bob\n', "in 'consumer': value must be null"),
    ('_format_version: "3.0"\nroutes:\n- name: r\n  paths: [/a]\n  service: ghost\n',
     "invalid reference 'service: ghost' (no such entry in 'services')"),
    ('_format_version: "3.0"\nplugins:\n- name: rate-limiting\n  config: {}\n',
     "at least one of these fields must be non-empty: 'config.second'"),
])
def test_declarative_errors_use_kong_wording(tmp_path, doc, fragment):
    with pytest.raises(HarnessStartError) as ei:
        build(tmp_path, doc)
    msg = str(ei.value)
    assert msg.startswith("error parsing declarative config file %s:\n" % (tmp_path / "kong.yaml"))
    assert fragment in msg


def _route(rid, **kw):
    base = {"id": rid, "protocols": ["http", "https"], "strip_path": True, "regex_priority": 0,
            "service": {"id": "s"}}
    base.update(kw)
    return base


def test_router_priorities_and_strip_path():
    services = {"s": {"id": "s", "host": "up", "port": 80, "protocol": "http", "path": "/base"}}
    routes = [
        _route("00000000-0000-0000-0000-000000000001", paths=["/v1/messages"], strip_path=False),
        _route("00000000-0000-0000-0000-000000000002", paths=["/v1/messages/count_tokens"], strip_path=False),
        _route("00000000-0000-0000-0000-000000000003", paths=["/api"]),
        _route("00000000-0000-0000-0000-000000000004", paths=["/api"], methods=["POST"]),
        _route("00000000-0000-0000-0000-000000000005", paths=[r"~/items/(?<id>\d+)$"]),
        _route("00000000-0000-0000-0000-000000000006", paths=["/h"], hosts=["*.example.com"]),
    ]
    r = Router(routes, services)
    m = r.exec("POST", "/v1/messages/count_tokens?beta=true", "k", {}, 8000)
    assert m.route["id"].endswith("2") and m.upstream_uri == "/base/v1/messages/count_tokens"
    m = r.exec("POST", "/v1/messages?beta=true", "k", {}, 8000)
    assert m.route["id"].endswith("1")
    assert r.exec("GET", "/api/x", "k", {}, 8000).route["id"].endswith("3")
    m = r.exec("POST", "/api/x", "k", {}, 8000)
    assert m.route["id"].endswith("4") and m.upstream_uri == "/base/x" and m.prefix == "/api"
    m = r.exec("GET", "/items/42", "k", {}, 8000)
    assert m.uri_captures == {0: "/items/42", 1: "42", "id": "42"}
    assert r.exec("GET", "/h", "a.example.com", {}, 8000).route["id"].endswith("6")
    assert r.exec("GET", "/h", "example.org", {}, 8000) is None


def test_an_explicit_null_fails_an_eq_so_a_conditional_on_it_does_not_apply(tmp_path):
    """kong/db/schema/init.lua (3.6.1) Schema:validate_field: a null value fails a non-null `eq` ("value must be
    redis"), so rate-limiting's `policy: null` does not ask for `redis.host` as `policy: redis` does."""
    plugin = '_format_version: "3.0"\nplugins:\n- name: rate-limiting\n  config: {minute: 5, policy: %s}\n'
    build(tmp_path, plugin % "null").stop()
    with pytest.raises(HarnessStartError, match="failed conditional validation given value of field 'config.policy'"):
        build(tmp_path, plugin % "redis")
