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
  gRPC health checks and CORS preflights; everything else needs a token;
* the body check: Envoy's transcoder silently drops JSON body fields the request
  message does not define (envoyproxy/envoy#46623, no option). A Lua filter between
  the JWT filter and the transcoder answers 400 instead. For every REST binding with
  a ``body``, the top-level keys its JSON object may carry (proto and JSON names of
  the fields of the body message) are generated into its source
  (:func:`body_check_lua`). A buffer filter before it bounds REST bodies to
  :data:`MAX_REQUEST_BODY_BYTES` (413 above). Both are off on the native gRPC routes.

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
    "MAX_REQUEST_BODY_BYTES",
    "GatewayContract",
    "HttpBinding",
    "RpcMethod",
    "body_check_lua",
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
MAX_REQUEST_BODY_BYTES = 1024 * 1024
"""REST request bodies are buffered (for the body check) up to this; a bigger one gets 413."""

_HTTP_EXTENSION = "google.api.http"
_ACCESS_EXTENSION = "fitness.options.v1.access"
_HTTP_VERBS = ("get", "put", "post", "delete", "patch")

_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_HTTP_PROTOCOL_OPTIONS_KEY = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
_HTTP_PROTOCOL_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
_BUFFER = "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer"
_BUFFER_PER_ROUTE = "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute"
_LUA = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
_LUA_PER_ROUTE = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute"


# --------------------------------------------------------------------------- contract


@dataclass(frozen=True)
class HttpBinding:
    """One HTTP form of an RPC (its ``google.api.http`` rule or an additional binding)."""

    method: str  # GET, POST, ... (upper case); "*" for a custom verb named "*"
    path_template: str
    body: str = ""  # the rule's ``body``: "", "*" or a request field name
    body_keys: frozenset[str] | None = None
    """Top-level keys a JSON body may carry (proto and JSON names of the body message's
    fields); None when the body is not checked (no body, a well-known type, a map, ...)."""


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


def _bindings(rule: Any, request: Any = None) -> list[HttpBinding]:
    out: list[HttpBinding] = []
    kind = rule.WhichOneof("pattern")
    keys = _body_keys(request, rule.body) if request is not None else None
    if kind in _HTTP_VERBS:
        out.append(HttpBinding(kind.upper(), getattr(rule, kind), rule.body, keys))
    elif kind == "custom":
        out.append(HttpBinding(rule.custom.kind.upper(), rule.custom.path, rule.body, keys))
    for extra in rule.additional_bindings:
        out.extend(_bindings(extra, request))
    return out


def _body_keys(request: Any, body: str) -> frozenset[str] | None:
    """The top-level JSON keys accepted in the body of a binding of ``request`` (a descriptor).

    ``body: "*"`` -> the request message's fields (path-bound ones too: the transcoder
    takes them); ``body: "user"`` -> the fields of the message type of ``user``. None (no
    check) when there is no body, or when it is not a plain message: a scalar, a
    repeated or map field, a well-known type (``Struct`` takes any key), ``HttpBody``.
    """
    if not body:
        return None
    message = request
    if body != "*":
        for name in body.split("."):
            field = message.fields_by_name.get(name)
            if field is None or field.message_type is None or _is_repeated(field):
                return None
            message = field.message_type
    if message.full_name.startswith("google.protobuf.") or message.full_name == "google.api.HttpBody":
        return None
    # The JSON parser accepts a field's proto name and its JSON name.
    return frozenset(name for field in message.fields for name in (field.name, field.json_name))


def _is_repeated(field: Any) -> bool:
    # FieldDescriptor.label is deprecated in recent protobuf releases; is_repeated replaces it.
    if hasattr(field, "is_repeated"):
        return bool(field.is_repeated)
    return bool(field.label == field.LABEL_REPEATED)


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
                        request = pool.FindMessageTypeByName(method.input_type.lstrip("."))
                        bindings = _bindings(options.Extensions[http_ext], request)
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


# --------------------------------------------------------------------------- body check (Lua)

_LUA_MAGIC = re.compile(r"([\^$()%.\[\]*+\-?])")


def _lua_quote(text: str) -> str:
    """A Lua string literal of ``text`` (byte-exact: non-printable bytes as ``\\ddd``)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def _template_parts(template: str) -> tuple[list[str], str]:
    """Segments (literal, ``*`` or ``**``) and custom verb of a ``google.api.http`` path template."""
    if not template.startswith("/"):
        raise ValueError(f"path template must start with '/': {template!r}")
    body, verb = template, ""
    colon = body.rfind(":")
    if colon > body.rfind("/") and colon > body.rfind("}"):
        body, verb = body[:colon], body[colon + 1 :]
    parts: list[str] = []
    for segment in _split_segments(body[1:]):
        if segment.startswith("{") and segment.endswith("}"):
            inner = segment[1:-1]
            parts.extend(inner.split("=", 1)[1].split("/") if "=" in inner else ["*"])
        elif "{" in segment or "}" in segment:
            raise ValueError(f"unsupported path segment {segment!r}")
        else:
            parts.append(segment)
    return parts, verb


def _lua_path_patterns(template: str) -> list[str]:
    """Lua patterns matching the request paths the transcoder maps to ``template`` (verb apart).

    They match the path as :func:`body_check_lua`'s ``split_path`` leaves it: without the
    query, a registered ``:verb`` (compared on its own) and trailing slashes, as the
    transcoder's path matcher reads it. ``*`` (and a ``{var}``) is one segment, ``**``
    any number, none included (so that gives two patterns).
    """
    patterns = [""]
    for part in _template_parts(template)[0]:
        if part == "**":
            patterns = [p for prefix in patterns for p in (prefix, prefix + "/.+")]
        elif part == "*":
            patterns = [p + "/[^/]+" for p in patterns]
        else:
            patterns = [p + "/" + _LUA_MAGIC.sub(r"%\1", part) for p in patterns]
    return ["^" + p + "$" for p in patterns]


def _path_precedence(template: str) -> tuple[int, ...]:
    """Sort key: literal segments before variables before ``**``, as the transcoder's trie."""
    return tuple(2 if p == "**" else 1 if p == "*" else 0 for p in _template_parts(template)[0])


_BODY_CHECK_RUNTIME = r"""
local byte, find, sub, gsub, char = string.byte, string.find, string.sub, string.gsub, string.char

-- Path and custom verb as the transcoder's path matcher reads them: without the query;
-- a ":verb" after the last '/' is the verb if some template declares it; then trailing
-- slashes do not count. Percent-encoded unreserved characters are decoded (the HCM's
-- normalize_path already did; a cheap safety net).
local function unreserved(hex)
  local c = char(tonumber(hex, 16))
  if find(c, "^[%w%-%._~]$") then return c end
  return "%" .. hex
end

local function split_path(path)
  path = sub(path, 1, (find(path, "?", 1, true) or 0) - 1)
  if find(path, "%", 1, true) then path = gsub(path, "%%(%x%x)", unreserved) end
  local head, verb = path:match("^(.*):([^/]*)$")
  if head and VERBS[verb] then path = head else verb = "" end
  return (gsub(path, "/+$", "")), verb
end

-- Index of the quote that closes the string opening at i (" or ': the transcoder's JSON
-- parser takes both), or nil if the body ends first. A plain find runs at memchr speed;
-- a quote after an odd number of backslashes is escaped.
local QUOTE = { [34] = '"', [39] = "'" }
local function string_end(s, i)
  local quote = QUOTE[byte(s, i)]
  i = i + 1
  while true do
    local j = find(s, quote, i, true)
    if j == nil then return nil end
    local k = j - 1
    while byte(s, k) == 92 do k = k - 1 end -- stops at the opening quote at the latest
    if (j - 1 - k) % 2 == 0 then return j end
    i = j + 1
  end
end

-- Bytes: 34 " 39 ' 44 , 58 : 91 [ 93 ] 123 { 125 }; <= 32 counts as whitespace.
local BARE_KEY_END = { [34] = true, [39] = true, [44] = true, [58] = true, [91] = true, [93] = true,
  [123] = true, [125] = true }

-- The first top-level key of the JSON object s that allowed lacks, or nil: all keys
-- known, or s is not an object (the transcoder answers that with 400). One pass over
-- s (a byte loop LuaJIT compiles; strings skipped by find). Keys are compared as
-- written: one with an escape (\u0061) is unknown. The parser also takes 'single-quoted'
-- and bare keys, and a trailing comma.
local function unknown_key(s, allowed)
  local n, i = #s, 1
  while i <= n and byte(s, i) <= 32 do i = i + 1 end
  if byte(s, i) ~= 123 then return nil end -- not '{'
  local depth, want_key = 1, true
  i = i + 1
  while i <= n do
    local c = byte(s, i)
    if c <= 32 then
      i = i + 1
    elseif want_key and depth == 1 then
      if c == 125 then return nil end -- '}': empty object, or after a trailing comma
      local key
      if c == 34 or c == 39 then
        local e = string_end(s, i)
        if e == nil then return nil end
        key, i = sub(s, i + 1, e - 1), e + 1
      else -- a bare key
        local e = i
        while e <= n and byte(s, e) > 32 and not BARE_KEY_END[byte(s, e)] do e = e + 1 end
        key, i = sub(s, i, e - 1), e
      end
      if not allowed[key] then return key end
      want_key = false
    elseif c == 34 or c == 39 then
      local e = string_end(s, i)
      if e == nil then return nil end
      i = e + 1
    elseif c == 123 or c == 91 then -- { [
      depth, i = depth + 1, i + 1
    elseif c == 125 or c == 93 then -- } ]
      depth, i = depth - 1, i + 1
      if depth == 0 then return nil end -- the end of the object; the parser judges the rest
    elseif c == 44 then -- ,
      want_key, i = depth == 1, i + 1
    else
      i = i + 1
    end
  end
  return nil
end

local function json_text(s)
  s = gsub(sub(s, 1, 200), "[%c\128-\255]", "?")
  return (gsub(s, '["\\]', "\\%0"))
end

local function status(handle, code, http_status, message, violation)
  local details = ""
  if violation then
    details = ',"details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":'
      .. '[{"field":"' .. violation .. '","description":"unknown field"}]}]'
  end
  handle:respond({ [":status"] = http_status, ["content-type"] = "application/json" },
    '{"code":' .. code .. ',"message":"' .. message .. '"' .. details .. "}")
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local rules = RULES[headers:get(":method")]
  if rules == nil then return end -- GET, OPTIONS, ...: no body rule
  -- Native gRPC passes, told apart as the transcoder does: application/grpc[+...].
  -- Any other content type (none, text/plain, application/grpc-web) is parsed as JSON.
  local ct = headers:get("content-type") or ""
  if ct == "application/grpc" or sub(ct, 1, 17) == "application/grpc+" then return end
  local path, verb = split_path(headers:get(":path") or "")
  local allowed
  for _, rule in ipairs(rules) do
    if rule[2] == verb and find(path, rule[1]) then allowed = rule[3]; break end
  end
  if allowed == nil then return end
  local body = handle:body() -- whole: the buffer filter before has it (a bigger one got 413)
  if body == nil then return end
  local ok, key = pcall(unknown_key, body:getBytes(0, body:length()), allowed)
  if not ok then -- a bug here must not let the body through unchecked
    handle:logErr("body check failed: " .. tostring(key))
    return status(handle, 13, "500", "request body check failed")
  end
  if key then
    local name = json_text(key)
    status(handle, 3, "400", 'unknown field \\"' .. name .. '\\" in request body', name)
  end
end
"""


def body_check_lua(contract: GatewayContract) -> str:
    """The Lua source of the gateway's body check (see the module docstring).

    Generated: ``VERBS`` (the custom verbs of the path templates) and ``RULES`` (per
    HTTP method, in the transcoder's match order: path pattern, verb and allowed keys of
    every binding with a checked body), then the fixed runtime ``_BODY_CHECK_RUNTIME``.
    """
    key_sets: dict[frozenset[str], str] = {}
    rules: dict[str, list[tuple[tuple[int, ...], str, str, str]]] = {}
    verbs: set[str] = set()
    for method in contract.methods:
        for binding in method.bindings:
            verb = _template_parts(binding.path_template)[1]
            if verb:
                verbs.add(verb)
            if binding.body_keys is None:
                continue
            keys = key_sets.setdefault(binding.body_keys, f"K{len(key_sets) + 1}")
            precedence = _path_precedence(binding.path_template)
            for pattern in _lua_path_patterns(binding.path_template):
                rules.setdefault(binding.method, []).append((precedence, pattern, verb, keys))
    lines = [
        "-- Generated by fitness_devstack.gateway.body_check_lua from the descriptor set.",
        "-- Answers 400 to a REST call whose JSON body has a top-level key the body message",
        "-- lacks (the transcoder would drop it silently: envoyproxy/envoy#46623).",
        "",
        "-- Accepted top-level keys (proto and JSON names of the fields of a body message).",
    ]
    for key_set, name in key_sets.items():
        items = "".join(f" [{_lua_quote(k)}] = true," for k in sorted(key_set))
        lines.append(f"local {name} = {{{items} }}")
    lines.append("-- Per HTTP method: {path pattern, custom verb, keys}; the first match wins.")
    lines.append("local RULES = {")
    for http_method in sorted(rules):
        lines.append(f"  [{_lua_quote(http_method)}] = {{")
        for _, pattern, verb, keys in sorted(rules[http_method], key=lambda r: r[0]):
            lines.append(f"    {{ {_lua_quote(pattern)}, {_lua_quote(verb)}, {keys} }},")
        lines.append("  },")
    lines.append("}")
    lines.append("-- Custom verbs of all path templates (the transcoder splits a declared ':verb' off the path).")
    lines.append("local VERBS = {" + "".join(f" [{_lua_quote(v)}] = true," for v in sorted(verbs)) + " }")
    return "\n".join(lines) + "\n" + _BODY_CHECK_RUNTIME


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
    rate_limit_per_second: int = 5000,
    cors_origins: Sequence[str] = ("*",),
    jwks_cache_seconds: int = 300,
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
    # Native gRPC calls (matched here on their gRPC path, before any transcoding) skip the
    # body buffering and check: a gRPC stream must not be buffered. Not if a REST template
    # could also start with such a prefix (fails closed: then everything is checked).
    grpc_prefixes = [f"/{package}." for package in upstreams] + [HEALTH_PREFIX]
    templates = [b.path_template for m in contract.methods for b in m.bindings]
    skip_body_check: dict[str, Any] = {}
    if not any(t.startswith(prefix) for t in templates for prefix in grpc_prefixes):
        skip_body_check = {
            "typed_per_filter_config": {
                "envoy.filters.http.buffer": {"@type": _BUFFER_PER_ROUTE, "disabled": True},
                "envoy.filters.http.lua": {"@type": _LUA_PER_ROUTE, "disabled": True},
            }
        }
    routes: list[dict[str, Any]] = [
        {
            "match": {"prefix": f"/{package}."},
            "route": {"cluster": cluster_name(package), "timeout": ROUTE_TIMEOUT},
            **skip_body_check,
        }
        for package in sorted(upstreams, key=len, reverse=True)
    ]
    routes.append(
        {
            "match": {"prefix": HEALTH_PREFIX},
            "route": {"cluster": cluster_name(next(iter(upstreams))), "timeout": ROUTE_TIMEOUT},
            **skip_body_check,
        }
    )
    # Everything else. REST calls reach the router only after the transcoder rewrote
    # their path to a gRPC one (it answers 404 itself for a REST path no RPC declares), so
    # what is left is native gRPC (or gRPC-Web) to an unknown service: 404. No skipping of
    # the body check here: the transcoder reads an application/grpc-web body on a REST
    # path as JSON.
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
                            "cache_duration": f"{jwks_cache_seconds}s",
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
            # Bounds what the body check buffers, for HTTP/1.1 and HTTP/2 alike (alone, the
            # Lua filter's buffering answers 413 on HTTP/1.1 only). Off for native gRPC routes.
            "name": "envoy.filters.http.buffer",
            "typed_config": {"@type": _BUFFER, "max_request_bytes": MAX_REQUEST_BODY_BYTES},
        },
        {
            # After the JWT filter (an unauthenticated call gets 401, not 400) and before the
            # transcoder, so it sees the REST method and path and the JSON body.
            "name": "envoy.filters.http.lua",
            "typed_config": {
                "@type": _LUA,
                "stat_prefix": "body_check",
                "default_source_code": {"inline_string": body_check_lua(contract)},
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
                    "always_print_primitive_fields": True,
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


def write_envoy_config(path: Path, **options: Any) -> Path:
    """Render the config (``options`` as for ``render_envoy_config``) and write it to
    ``path`` as JSON (use a ``.json`` name); return ``path``."""
    config = render_envoy_config(**options)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path
