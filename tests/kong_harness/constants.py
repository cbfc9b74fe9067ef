"""Constants of Kong Gateway OSS 3.6.1 the harness reproduces.

Sources: kong/meta.lua (version, server tokens), kong/constants.lua (bundled
plugins, HEADERS), kong/db/schema/others/declarative_config.lua (default
workspace id, UUID namespace), kong/pdk/private/phases.lua (phase bits).
"""
from __future__ import annotations

# kong/meta.lua
KONG_VERSION = "3.6.1"
SERVER_TOKENS = "kong/" + KONG_VERSION  # meta._SERVER_TOKENS, used for Server and Via

# kong/constants.lua `plugins` (BUNDLED_PLUGINS)
BUNDLED_PLUGINS = (
    "jwt", "acl", "correlation-id", "cors", "oauth2", "tcp-log", "udp-log",
    "file-log", "http-log", "key-auth", "hmac-auth", "basic-auth",
    "ip-restriction", "request-transformer", "response-transformer",
    "request-size-limiting", "rate-limiting", "response-ratelimiting", "syslog",
    "loggly", "datadog", "ldap-auth", "statsd", "bot-detection", "aws-lambda",
    "request-termination", "prometheus", "proxy-cache", "session", "acme",
    "grpc-gateway", "grpc-web", "pre-function", "post-function",
    "azure-functions", "zipkin", "opentelemetry", "ai-proxy",
    "ai-prompt-decorator", "ai-prompt-template", "ai-prompt-guard",
    "ai-request-transformer", "ai-response-transformer",
)

# kong/constants.lua HEADERS
H_PROXY_LATENCY = "X-Kong-Proxy-Latency"
H_RESPONSE_LATENCY = "X-Kong-Response-Latency"
H_ADMIN_LATENCY = "X-Kong-Admin-Latency"
H_UPSTREAM_LATENCY = "X-Kong-Upstream-Latency"
H_UPSTREAM_STATUS = "X-Kong-Upstream-Status"
H_CONSUMER_ID = "X-Consumer-ID"
H_CONSUMER_CUSTOM_ID = "X-Consumer-Custom-ID"
H_CONSUMER_USERNAME = "X-Consumer-Username"
H_CREDENTIAL_IDENTIFIER = "X-Credential-Identifier"
H_CONSUMER_GROUPS = "X-Consumer-Groups"
H_AUTHENTICATED_GROUPS = "X-Authenticated-Groups"
H_ANONYMOUS = "X-Anonymous-Consumer"
H_REQUEST_ID = "X-Kong-Request-Id"
H_VIA = "Via"
H_SERVER = "Server"

# declarative_config.lua insert_default_workspace_if_not_given
DEFAULT_WORKSPACE_ID = "0dc6f45b-8f8d-40d2-a504-473544ee190b"
# declarative_config.lua uuid_generators._entities
ENTITIES_UUID_NAMESPACE = "fd02801f-0957-4a15-a55a-c8d9606f30b5"
# kong/router/compat.lua uuid_generator for split routes
ROUTE_SPLIT_UUID_NAMESPACE = "7f145bf9-0dce-4f91-98eb-debbce4b9f6b"

# kong/pdk/private/phases.lua
PHASE_BITS = {
    "init_worker": 0x00000001,
    "certificate": 0x00000002,
    "rewrite": 0x00000010,
    "access": 0x00000020,
    "balancer": 0x00000040,
    "response": 0x00000080,
    "cluster_listener": 0x00000100,
    "header_filter": 0x00000200,
    "body_filter": 0x00000400,
    "log": 0x00002000,
    "preread": 0x00004000,
    "error": 0x01000000,
    "admin_api": 0x10000000,
}

# kong/runloop/plugins_iterator.lua (http subsystem)
DOWNSTREAM_PHASES = ("response", "header_filter", "body_filter", "log")
NON_COLLECTING_PHASES = ("certificate", "rewrite", "response", "header_filter", "body_filter", "log")

# kong/constants.lua RESPONSE_SOURCE TYPE_NAMES
SOURCE_ERROR = "error"
SOURCE_EXIT = "exit"
SOURCE_SERVICE = "service"
