"""Second test plugin (lower priority): proves ordering and per-entity instances."""
import json

version = "0.1.0"
priority = 900

Schema = (
    {"out": {"type": "string"}},
    {"label": {"type": "string", "default": "second"}},
)


class Plugin:
    def __init__(self, config):
        self.config = config

    def access(self, kong):
        kong.service.request.add_header("X-Second", self.config.get("label"))
