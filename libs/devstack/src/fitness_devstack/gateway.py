"""Build the Envoy gateway configuration from the contracts.

Everything the gateway needs to know about the API comes from the descriptor set
(``gateway/generated/fitness.pb``, written by ``scripts/gen_protos.py``) and from the
``upstreams`` map (gRPC package -> the process serving every service of it):

* the services the gRPC-JSON transcoder translates: every service of every package
  named in ``upstreams``;
* one route per package (``/fitness.auth.v1.`` -> that package's cluster), matched
  after transcoding, when the path is the gRPC one;
* the JWT rules: for every RPC whose ``fitness.options.v1.access`` option says
  ``public: true``, both its REST form (from its ``google.api.http`` rule, with the HTTP
  method) and its gRPC form (``/pkg.Service/Method``) pass without a token, as do
  gRPC health checks and CORS preflights; everything else needs a token.

The JWT filter runs before the transcoder, so it sees the REST path of a REST call
and the gRPC path of a native gRPC call; that is why both forms are listed. The
options are read through a descriptor pool built from the descriptor set itself, so
no generated Python module is needed (a package added later works the same way).

The configuration is written as JSON, which Envoy reads from a ``.json`` file (and
which is also valid YAML), so no YAML library is needed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = [
    "HEALTH_PREFIX",
    "IDENTITY_HEADERS",
    "JWKS_PATH",
    "JWT_PAYLOAD_HEADER",
    "JWT_PROVIDER",
    "GatewayContract",
    "HttpBinding",
    "RpcMethod",
    "cluster_name",
    "load_contract",
    "path_template_regex",
    "render_envoy_config",
    "write_envoy_config",
]

JWT_PROVIDER = "fitness-auth"
JWKS_PATH = "/.well-known/jwks.json"
HEALTH_PREFIX = "/grpc.health.v1.Health/"
JWT_PAYLOAD_HEADER = "x-jwt-payload"
"""Set by the gateway's JWT filter (base64url JSON payload of a verified token)."""
IDENTITY_HEADERS = ("x-user-id", "x-user-role", JWT_PAYLOAD_HEADER, "x-forwarded-user")
"""Headers a client must never be able to set: stripped before the JWT filter runs."""

ROUTE_TIMEOUT = "15s"
UNROUTED_CLUSTER = "unrouted"
MAX_DOWNSTREAM_CONNECTIONS = 20000
CORS_METHODS = "GET,POST,PATCH,DELETE,OPTIONS"
CORS_ALLOW_HEADERS = "authorization,content-type,x-request-id,x-grpc-web,x-user-agent,grpc-timeout,accept-encoding"
CORS_EXPOSE_HEADERS = "x-request-id,grpc-status,grpc-message,x-local-rate-limit"

_HTTP_EXTENSION = "google.api.http"
_ACCESS_EXTENSION = "fitness.options.v1.access"
_HTTP_VERBS = ("get", "put", "post", "delete", "patch")

_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_HTTP_PROTOCOL_OPTIONS_KEY = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
_HTTP_PROTOCOL_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


# --------------------------------------------------------------------------- contract


@dataclass(frozen=True)
class HttpBinding:
    """One HTTP form of an RPC (its ``google.api.http`` rule or an additional binding)."""

    method: str  # GET, POST, ... (upper case); "*" for a custom verb named "*"
    path_template: str


@dataclass(frozen=True)
class RpcMethod:
    service: str  # full name, e.g. fitness.auth.v1.AuthService
    name: str
    public: bool
    min_role: str
    has_access_option: bool
    bindings: tuple[HttpBinding, ...]

    @property
    def grpc_path(self) -> str:
        return f"/{self.service}/{self.name}"


@dataclass(frozen=True)
class GatewayContract:
    """What the gateway config is derived from: the services of the routed packages."""

    packages: tuple[str, ...]  # the keys of ``upstreams``, in order
    services: tuple[str, ...]  # full names of every service of those packages
    methods: tuple[RpcMethod, ...]

    def services_of(self, package: str) -> list[str]:
        return [s for s in self.services if _in_package(s, package)]

    @property
    def public_methods(self) -> list[RpcMethod]:
        return [m for m in self.methods if m.public]


def _in_package(full_name: str, package: str) -> bool:
    return full_name.startswith(package + ".")


def _bindings(rule: Any) -> list[HttpBinding]:
    out: list[HttpBinding] = []
    kind = rule.WhichOneof("pattern")
    if kind in _HTTP_VERBS:
        out.append(HttpBinding(kind.upper(), getattr(rule, kind)))
    elif kind == "custom":
        out.append(HttpBinding(rule.custom.kind.upper(), rule.custom.path))
    for extra in rule.additional_bindings:
        out.extend(_bindings(extra))
    return out


def load_contract(descriptor_set: Path, packages: Sequence[str]) -> GatewayContract:
    """Read the services, HTTP rules and access options of ``packages`` from a descriptor set.

    Raises :class:`ValueError` if a package has no service in the descriptor set.
    """
    fds = descriptor_pb2.FileDescriptorSet.FromString(Path(descriptor_set).read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file_proto in fds.file:
        pool.Add(file_proto)
    # Options are re-parsed as the pool's own MethodOptions so that the extensions
    # defined in the descriptor set (google.api.http, fitness.options.v1.access) are known.
    try:
        options_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("google.protobuf.MethodOptions"))
    except KeyError:
        raise ValueError(
            f"{descriptor_set} lacks google/protobuf/descriptor.proto (build it with --include_imports)"
        ) from None
    http_ext = _find_extension(pool, _HTTP_EXTENSION)
    access_ext = _find_extension(pool, _ACCESS_EXTENSION)

    services: list[str] = []
    methods: list[RpcMethod] = []
    for package in packages:
        found = False
        for file_proto in fds.file:
            if not (file_proto.package == package or file_proto.package.startswith(package + ".")):
                continue
            for service in file_proto.service:
                full = f"{file_proto.package}.{service.name}"
                if full in services:
                    continue
                found = True
                services.append(full)
                for method in service.method:
                    options = options_class.FromString(method.options.SerializeToString())
                    bindings: list[HttpBinding] = []
                    if http_ext is not None and options.HasExtension(http_ext):
                        bindings = _bindings(options.Extensions[http_ext])
                    public, min_role, has_access = False, "", False
                    if access_ext is not None and options.HasExtension(access_ext):
                        access = options.Extensions[access_ext]
                        public, min_role, has_access = bool(access.public), str(access.min_role), True
                    methods.append(RpcMethod(full, method.name, public, min_role, has_access, tuple(bindings)))
        if not found:
            raise ValueError(f"no service of package {package!r} in the descriptor set {descriptor_set}")
    return GatewayContract(tuple(packages), tuple(services), tuple(methods))


def _find_extension(pool: descriptor_pool.DescriptorPool, name: str) -> Any:
    try:
        return pool.FindExtensionByName(name)
    except KeyError:
        return None


# --------------------------------------------------------------------------- path templates

_SEGMENT = "[^/:]+"  # one path segment; never a ':' so a public rule cannot swallow a custom verb
_SEGMENTS = "[^:]*"  # any number of segments ('**')


def path_template_regex(template: str) -> str:
    """An RE2 regex matching the paths of a ``google.api.http`` path template.

    ``/v1/auth/oauth/{provider}`` -> ``/v1/auth/oauth/[^/:]+``. Variables and wildcards
    never match ``:``, so a public ``/v1/x/{id}`` does not also open ``/v1/x/{id}:verb``
    (fails closed: such a path needs a token).
    """
    if not template.startswith("/"):
        raise ValueError(f"path template must start with '/': {template!r}")
    verb = ""
    body = template
    # A trailing ':verb' outside any {...}.
    last_slash = body.rfind("/")
    closing = body.rfind("}")
    colon = body.rfind(":")
    if colon > last_slash and colon > closing:
        body, verb = body[:colon], body[colon + 1 :]
    out: list[str] = []
    for segment in _split_segments(body[1:]):
        out.append(_segment_regex(segment))
    regex = "/" + "/".join(out)
    if verb:
        regex += ":" + re.escape(verb)
    return regex


def _split_segments(path: str) -> list[str]:
    """Split on '/' outside braces (a variable may hold a sub-template such as {name=a/*})."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in path:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if char == "/" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _segment_regex(segment: str) -> str:
    if segment == "*":
        return _SEGMENT
    if segment == "**":
        return _SEGMENTS
    if segment.startswith("{") and segment.endswith("}"):
        inner = segment[1:-1]
        if "=" not in inner:
            return _SEGMENT
        sub = inner.split("=", 1)[1]
        return "/".join(_segment_regex(part) for part in sub.split("/"))
    if "{" in segment or "}" in segment:
        raise ValueError(f"unsupported path segment {segment!r}")
    return re.escape(segment)


# --------------------------------------------------------------------------- config pieces


def cluster_name(package: str) -> str:
    """Envoy cluster name of a package: ``fitness.auth.v1`` -> ``fitness_auth_v1``."""
    return package.replace(".", "_")


def _socket_address(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _grpc_cluster(name: str, host: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "STRICT_DNS",
        "dns_lookup_family": "V4_ONLY",
        "connect_timeout": "1s",
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _socket_address(host, port)}}]}],
        },
        "typed_extension_protocol_options": {
            _HTTP_PROTOCOL_OPTIONS_KEY: {
                "@type": _HTTP_PROTOCOL_OPTIONS,
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "health_checks": [
            {
                "timeout": "1s",
                "interval": "2s",
                "unhealthy_interval": "1s",
                "no_traffic_interval": "5s",
                "interval_jitter": "0.1s",
                "unhealthy_threshold": 2,
                "healthy_threshold": 1,
                "grpc_health_check": {},
            }
        ],
    }


def _http1_cluster(name: str, host: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "STRICT_DNS",
        "dns_lookup_family": "V4_ONLY",
        "connect_timeout": "1s",
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _socket_address(host, port)}}]}],
        },
    }


def _access_log() -> dict[str, Any]:
    return {
        "name": "envoy.access_loggers.stdout",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
            "log_format": {
                "json_format": {
                    "start_time": "%START_TIME%",
                    "method": "%REQ(X-ENVOY-ORIGINAL-METHOD?:METHOD)%",
                    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
                    "grpc_path": "%REQ(:PATH)%",
                    "protocol": "%PROTOCOL%",
                    "response_code": "%RESPONSE_CODE%",
                    "grpc_status": "%GRPC_STATUS%",
                    "response_flags": "%RESPONSE_FLAGS%",
                    "duration_ms": "%DURATION%",
                    "upstream_service_time_ms": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
                    "request_id": "%REQ(X-REQUEST-ID)%",
                    "upstream_cluster": "%UPSTREAM_CLUSTER%",
                    "upstream_host": "%UPSTREAM_HOST%",
                    "bytes_received": "%BYTES_RECEIVED%",
                    "bytes_sent": "%BYTES_SENT%",
                    "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
                    "user_agent": "%REQ(USER-AGENT)%",
                    "local_reply": "%LOCAL_REPLY_BODY%",
                },
            },
        },
    }


def _origin_matcher(origin: str) -> dict[str, Any]:
    if origin == "*":
        return {"safe_regex": {"regex": ".*"}}
    return {"exact": origin}


def _cors_policy(origins: Sequence[str]) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
        "allow_origin_string_match": [_origin_matcher(o) for o in origins],
        "allow_methods": CORS_METHODS,
        "allow_headers": CORS_ALLOW_HEADERS,
        "expose_headers": CORS_EXPOSE_HEADERS,
        "max_age": "86400",
        "allow_credentials": False,
    }


def _method_header(method: str) -> list[dict[str, Any]]:
    if method == "*":
        return []
    return [{"name": ":method", "string_match": {"exact": method}}]


def _jwt_rules(contract: GatewayContract) -> list[dict[str, Any]]:
    """Public RPCs (REST and gRPC forms), health and preflights pass; the rest needs a token."""
    rules: list[dict[str, Any]] = [
        # CORS preflights carry no token (the CORS filter answers those of allowed origins
        # before this filter runs; the others end as 404 at the transcoder).
        {
            "match": {
                "prefix": "/",
                "headers": [
                    *_method_header("OPTIONS"),
                    {"name": "origin", "present_match": True},
                    {"name": "access-control-request-method", "present_match": True},
                ],
            }
        },
        {"match": {"prefix": HEALTH_PREFIX}},
    ]
    for method in contract.public_methods:
        rules.append({"match": {"path": method.grpc_path}})
        for binding in method.bindings:
            match: dict[str, Any]
            if re.search(r"[{}*]", binding.path_template):
                match = {"safe_regex": {"regex": path_template_regex(binding.path_template)}}
            else:
                match = {"path": binding.path_template}
            headers = _method_header(binding.method)
            if headers:
                match["headers"] = headers
            rules.append({"match": match})
    rules.append({"match": {"prefix": "/"}, "requires": {"provider_name": JWT_PROVIDER}})
    return rules


def _runtime_percent(key: str) -> dict[str, Any]:
    return {"runtime_key": key, "default_value": {"numerator": 100, "denominator": "HUNDRED"}}


# --------------------------------------------------------------------------- render


def render_envoy_config(
    *,
    listen_port: int,
    admin_port: int,
    descriptor_set: Path,
    upstreams: Mapping[str, tuple[str, int]],
    jwks_cluster: tuple[str, int] | None = None,
    issuer: str,
    audience: str,
    rate_limit_per_second: int = 1000,
    cors_origins: Sequence[str] = ("*",),
) -> dict[str, Any]:
    """The Envoy bootstrap (as a dict) of the gateway.

    ``upstreams`` maps a gRPC package (``"fitness.auth.v1"``) to the host and port of
    the process serving all its services. The JWKS is fetched from
    ``http://127.0.0.1:{listen_port}/.well-known/jwks.json``, through the gateway
    itself (transcoded to ``GetJwks``), or from ``jwks_cluster`` when given.
    """
    if not upstreams:
        raise ValueError("upstreams is empty: at least one package must be routed")
    if rate_limit_per_second < 1:
        raise ValueError("rate_limit_per_second must be at least 1")
    descriptor_set = Path(descriptor_set).resolve()
    contract = load_contract(descriptor_set, list(upstreams))

    clusters = [_grpc_cluster(cluster_name(package), host, port) for package, (host, port) in upstreams.items()]
    jwks_host, jwks_port = jwks_cluster if jwks_cluster is not None else ("127.0.0.1", listen_port)
    clusters.append(_http1_cluster("jwks", jwks_host, jwks_port))
    clusters.append(
        {
            "name": UNROUTED_CLUSTER,
            "type": "STATIC",
            "connect_timeout": "1s",
            "load_assignment": {"cluster_name": UNROUTED_CLUSTER, "endpoints": []},
        }
    )

    # Longest prefix first, so a sub-package routed elsewhere wins over its parent.
    routes: list[dict[str, Any]] = [
        {
            "match": {"prefix": f"/{package}."},
            "route": {"cluster": cluster_name(package), "timeout": ROUTE_TIMEOUT},
        }
        for package in sorted(upstreams, key=len, reverse=True)
    ]
    routes.append(
        {
            "match": {"prefix": HEALTH_PREFIX},
            "route": {"cluster": cluster_name(next(iter(upstreams))), "timeout": ROUTE_TIMEOUT},
        }
    )
    # Everything else. REST calls reach the router only after the transcoder rewrote
    # their path to a gRPC one (it answers 404 itself for a REST path no RPC declares), so
    # what is left is native gRPC (or gRPC-Web) to an unknown service: 404.
    routes.append(
        {
            "match": {
                "prefix": "/",
                "headers": [{"name": "content-type", "string_match": {"prefix": "application/grpc"}}],
            },
            "direct_response": {"status": 404},
        }
    )
    # The CORS filter runs before the transcoder, on the REST path, and ignores
    # direct_response routes: this real route gives it the virtual host's policy. Its
    # cluster has no endpoints, so nothing can leak to a service through it.
    routes.append({"match": {"prefix": "/"}, "route": {"cluster": UNROUTED_CLUSTER, "timeout": ROUTE_TIMEOUT}})

    http_filters: list[dict[str, Any]] = [
        {
            # First, so it compresses the final (already transcoded) response.
            "name": "envoy.filters.http.compressor",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor",
                "response_direction_config": {
                    # Default content types include application/json.
                    "common_config": {"min_content_length": 100}
                },
                "compressor_library": {
                    "name": "gzip",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip"
                    },
                },
            },
        },
        {
            "name": "envoy.filters.http.cors",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"},
        },
        {
            "name": "envoy.filters.http.local_ratelimit",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                "stat_prefix": "gateway_rate_limit",
                "token_bucket": {
                    "max_tokens": rate_limit_per_second,
                    "tokens_per_fill": rate_limit_per_second,
                    "fill_interval": "1s",
                },
                "filter_enabled": _runtime_percent("gateway_rate_limit_enabled"),
                "filter_enforced": _runtime_percent("gateway_rate_limit_enforced"),
                "status": {"code": "TooManyRequests"},
                "rate_limited_as_resource_exhausted": True,
                "response_headers_to_add": [
                    {
                        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                        "header": {"key": "x-local-rate-limit", "value": "true"},
                    }
                ],
            },
        },
        {
            # Client-sent identity headers are dropped before the JWT filter, which may
            # then set x-jwt-payload itself.
            "name": "envoy.filters.http.header_mutation",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
                "mutations": {"request_mutations": [{"remove": h} for h in IDENTITY_HEADERS]},
            },
        },
        {
            "name": "envoy.filters.http.jwt_authn",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
                "providers": {
                    JWT_PROVIDER: {
                        "issuer": issuer,
                        "audiences": [audience],
                        "remote_jwks": {
                            "http_uri": {
                                "uri": f"http://{jwks_host}:{jwks_port}{JWKS_PATH}",
                                "cluster": "jwks",
                                "timeout": "2s",
                            },
                            "cache_duration": "300s",
                            # Through the gateway itself the listener must not wait for the
                            # fetch (it would fail until the listener is up).
                            "async_fetch": {
                                "fast_listener": jwks_cluster is None,
                                "failed_refetch_duration": "1s",
                            },
                            "retry_policy": {
                                "num_retries": 3,
                                "retry_back_off": {"base_interval": "0.2s", "max_interval": "2s"},
                            },
                        },
                        "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
                        "forward": True,
                        "forward_payload_header": JWT_PAYLOAD_HEADER,
                    }
                },
                "rules": _jwt_rules(contract),
            },
        },
        {
            "name": "envoy.filters.http.grpc_json_transcoder",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
                "proto_descriptor": str(descriptor_set),
                "services": list(contract.services),
                "auto_mapping": False,
                "convert_grpc_status": True,
                "print_options": {
                    "add_whitespace": False,
                    "always_print_primitive_fields": False,
                    "always_print_enums_as_ints": False,
                    "preserve_proto_field_names": False,
                },
                "request_validation_options": {
                    "reject_unknown_method": True,
                    "reject_unknown_query_parameters": True,
                },
            },
        },
        {
            "name": "envoy.filters.http.router",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
        },
    ]

    connection_manager = {
        "@type": _HCM,
        "stat_prefix": "gateway",
        "codec_type": "AUTO",
        "use_remote_address": True,
        "generate_request_id": True,
        "preserve_external_request_id": True,
        "always_set_request_id_in_response": True,
        "normalize_path": True,
        "merge_slashes": True,
        "access_log": [_access_log()],
        "route_config": {
            "name": "gateway",
            # Also removed at the router, for requests that skip the mutation filter.
            "request_headers_to_remove": [h for h in IDENTITY_HEADERS if h != JWT_PAYLOAD_HEADER],
            "virtual_hosts": [
                {
                    "name": "api",
                    "domains": ["*"],
                    "routes": routes,
                    "typed_per_filter_config": {"envoy.filters.http.cors": _cors_policy(cors_origins)},
                }
            ],
        },
        "http_filters": http_filters,
    }

    return {
        "admin": {"address": _socket_address("127.0.0.1", admin_port)},
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.resource_monitors."
                        "downstream_connections.v3.DownstreamConnectionsConfig",
                        "max_active_downstream_connections": MAX_DOWNSTREAM_CONNECTIONS,
                    },
                }
            ]
        },
        "static_resources": {
            "listeners": [
                {
                    "name": "gateway",
                    "address": _socket_address("0.0.0.0", listen_port),
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": connection_manager,
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": clusters,
        },
    }


def write_envoy_config(
    path: Path,
    *,
    listen_port: int,
    admin_port: int,
    descriptor_set: Path,
    upstreams: Mapping[str, tuple[str, int]],
    jwks_cluster: tuple[str, int] | None = None,
    issuer: str,
    audience: str,
    rate_limit_per_second: int = 1000,
    cors_origins: Sequence[str] = ("*",),
) -> Path:
    """Render the config and write it to ``path`` as JSON (use a ``.json`` name); return ``path``."""
    config = render_envoy_config(
        listen_port=listen_port,
        admin_port=admin_port,
        descriptor_set=descriptor_set,
        upstreams=upstreams,
        jwks_cluster=jwks_cluster,
        issuer=issuer,
        audience=audience,
        rate_limit_per_second=rate_limit_per_second,
        cors_origins=cors_origins,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path
