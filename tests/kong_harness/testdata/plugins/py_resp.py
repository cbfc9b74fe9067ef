"""Test plugin with a `response` phase (turns on Kong's buffered proxying)."""

version = "0.1.0"
priority = 800

Schema = (
    {"replace": {"type": "boolean", "default": False}},
)


class Plugin:
    def __init__(self, config):
        self.config = config

    def response(self, kong):
        body, _ = kong.service.response.get_raw_body()
        status, _ = kong.service.response.get_status()
        kong.response.set_header("X-Resp-Body-Type", type(body).__name__)
        kong.response.set_header("X-Resp-Body-Len", str(len(body)))
        kong.response.set_header("X-Resp-Upstream-Status", str(status))
        if self.config.get("replace"):
            kong.response.exit(201, "replaced", {"Content-Type": "text/plain"})
