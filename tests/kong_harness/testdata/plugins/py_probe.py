"""Test plugin for the harness: exercises PDK calls over the real kong-pdk server."""
import json
import os

version = "0.1.0"
priority = 1000

Schema = (
    {"mode": {"type": "string", "default": "pdk",
              "one_of": ["pdk", "exit", "raise_after_pdk", "env", "unknown", "raw_body", "noop", "log_only"]}},
    {"out": {"type": "string"}},
    {"tag": {"type": "string", "default": "t"}},
    {"limit": {"type": "integer", "default": 3}},
)


class Plugin:
    def __init__(self, config):
        self.config = config

    def _write(self, rec):
        out = self.config.get("out")
        if out:
            with open(out, "a") as fh:
                fh.write(json.dumps(rec, default=repr) + "\n")

    def access(self, kong):
        mode = self.config.get("mode")
        if mode == "log_only":
            return
        rid, _ = kong.nginx.get_var("kong_request_id")
        if mode == "pdk":
            headers, _ = kong.request.get_headers()
            body, _ = kong.request.get_raw_body()
            consumer, _ = kong.client.get_consumer()
            query, _ = kong.request.get_query()
            path, _ = kong.request.get_path()
            route, _ = kong.router.get_route()
            kong.service.request.set_header("X-Probe", "set-by-probe")
            seen, _ = kong.request.get_header("x-probe")
            kong.ctx.shared.set("probe", "shared-value")
            plugin_id, _ = kong.plugin.get_id()
            self._write({
                "phase": "access", "rid": rid, "tag": self.config.get("tag"),
                "headers": headers, "headers_types": {k: type(v).__name__ for k, v in headers.items()},
                "body_type": type(body).__name__,
                "body": body.decode() if isinstance(body, bytes) else body,
                "consumer": consumer, "query": query, "path": path, "route_name": (route or {}).get("name"),
                "seen": seen, "plugin_id": plugin_id, "config": self.config,
            })
        elif mode == "exit":
            kong.response.exit(418, {"probe": "exit", "n": 1}, {"X-Probe-Exit": "yes"})
        elif mode == "raise_after_pdk":
            kong.request.get_method()
            raise RuntimeError("probe boom after a PDK call")
        elif mode == "env":
            self._write({"rid": rid, "env": dict(os.environ)})
        elif mode == "unknown":
            res = kong.request.no_such_method()
            self._write({"rid": rid, "unknown": list(res)})
        elif mode == "raw_body":
            body, err = kong.request.get_raw_body()
            self._write({"rid": rid, "raw_body_is_none": body is None, "err": err})

    def log(self, kong):
        ser, _ = kong.log.serialize()
        shared, _ = kong.ctx.shared.get("probe")
        status, _ = kong.response.get_status()
        data = json.loads(ser)
        self._write({"phase": "log", "rid": data["request"]["id"], "serialize": data,
                     "shared": shared, "status": status, "tag": self.config.get("tag")})
