"""Server interceptors: observability (request id, trace, log line, metrics,
error mapping) and access control (JWT + the role each RPC declares).

Both wrap the method handler once per method and cache the wrapper, so the
per-call cost is one closure call each.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import grpc
from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import Message
from opentelemetry import trace
from opentelemetry.propagate import extract

from fitness.options.v1 import access_pb2
from fitness_platform.context import CallInfo, optional_principal, set_call, set_principal
from fitness_platform.errors import DomainError, InvalidArgument, PermissionDenied, Unauthenticated
from fitness_platform.logging import get_logger
from fitness_platform.metrics import RPC_DURATION
from fitness_platform.sanitize import nul_violations
from fitness_platform.status import abort_with
from fitness_platform.tokens import AccessTokenVerifier

Context = grpc.aio.ServicerContext[Any, Any]
Unary = Callable[[Any, Context], Awaitable[Any]]
Stream = Callable[[Any, Context], AsyncIterator[Any]]
Wrap = Callable[[str, Unary], Unary]
WrapStream = Callable[[str, Stream], Stream]

_log = get_logger("rpc")
_tracer = trace.get_tracer("fitness.rpc")


def _metadata(context: Context) -> dict[str, str]:
    return {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}


def _client_ip(context: Context, metadata: dict[str, str]) -> str:
    # Envoy (use_remote_address) appends the client address as the last hop.
    forwarded = metadata.get("x-forwarded-for")
    if forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()
    peer = context.peer() or ""
    return peer.split(":")[1] if peer.startswith("ipv4:") else peer


class _WrappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps unary-unary and unary-stream behaviours; caches one wrapper per method."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[grpc.RpcMethodHandler[Any, Any], grpc.RpcMethodHandler[Any, Any]]] = {}

    def wrap_unary(self, method: str, behavior: Unary) -> Unary:
        raise NotImplementedError

    def wrap_stream(self, method: str, behavior: Stream) -> Stream:
        raise NotImplementedError

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        cached = self._cache.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(method, handler)
        self._cache[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self.wrap_unary(method, handler.unary_unary),  # type: ignore[arg-type]
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self.wrap_stream(method, handler.unary_stream),  # type: ignore[arg-type]
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


class ObservabilityInterceptor(_WrappingInterceptor):
    """Request id, trace span, one JSON log line and a histogram sample per RPC,
    and the mapping of DomainError to a gRPC status with details."""

    def wrap_unary(self, method: str, behavior: Unary) -> Unary:
        async def observed(request: Any, context: Context) -> Any:
            metadata = _metadata(context)
            request_id = metadata.get("x-request-id") or str(uuid.uuid4())
            set_call(CallInfo(method, request_id, _client_ip(context, metadata),
                              metadata.get("user-agent", "")))  # fmt: skip
            set_principal(None)
            start = time.perf_counter()
            code = grpc.StatusCode.OK
            with _tracer.start_as_current_span(method, context=extract(metadata)) as span:
                try:
                    if isinstance(request, Message) and (bad := nul_violations(request)):
                        raise InvalidArgument(bad)
                    return await behavior(request, context)
                except DomainError as error:
                    code = error.code
                    await abort_with(context, error)
                except grpc.aio.AbortError:
                    code = context.code() or grpc.StatusCode.UNKNOWN  # aborted by the behaviour
                    raise
                except Exception as error:
                    code = grpc.StatusCode.INTERNAL
                    _log.exception("rpc.unhandled", method=method, request_id=request_id)
                    await context.abort(code, "internal error")
                    raise AssertionError("unreachable") from error
                finally:
                    self._record(method, code, start, request_id, span)

        return observed

    def wrap_stream(self, method: str, behavior: Stream) -> Stream:
        async def observed(request: Any, context: Context) -> AsyncIterator[Any]:
            metadata = _metadata(context)
            request_id = metadata.get("x-request-id") or str(uuid.uuid4())
            set_call(CallInfo(method, request_id, _client_ip(context, metadata),
                              metadata.get("user-agent", "")))  # fmt: skip
            start = time.perf_counter()
            code = grpc.StatusCode.OK
            with _tracer.start_as_current_span(method, context=extract(metadata)) as span:
                try:
                    async for item in behavior(request, context):
                        yield item
                except DomainError as error:
                    code = error.code
                    await abort_with(context, error)
                finally:
                    self._record(method, code, start, request_id, span)

        return observed

    @staticmethod
    def _record(method: str, code: grpc.StatusCode, start: float, request_id: str, span: trace.Span) -> None:
        elapsed = time.perf_counter() - start
        RPC_DURATION.labels(method, code.name).observe(elapsed)
        principal = optional_principal()
        span_context = span.get_span_context()
        _log.info(
            "rpc",
            method=method,
            code=code.name,
            duration_ms=round(elapsed * 1000, 2),
            request_id=request_id,
            trace_id=format(span_context.trace_id, "032x") if span_context.is_valid else None,
            user_id=principal.user_id if principal else None,
        )


def access_policies(files: Iterable[FileDescriptor]) -> dict[str, access_pb2.AccessPolicy]:
    """Method path -> declared AccessPolicy. Refuses a method that declares none."""
    policies: dict[str, access_pb2.AccessPolicy] = {}
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                options = method.GetOptions()
                if not options.HasExtension(access_pb2.access):
                    raise RuntimeError(f"{service.full_name}.{method.name} declares no access")
                policy = options.Extensions[access_pb2.access]
                if not policy.public and policy.min_role not in ("user", "trainer", "admin"):
                    raise RuntimeError(f"{service.full_name}.{method.name}: bad min_role")
                policies[f"/{service.full_name}/{method.name}"] = policy
    return policies


# Infrastructure services that answer without a token.
_OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class AuthInterceptor(_WrappingInterceptor):
    """Verifies the bearer token and the role each RPC declares in its proto."""

    def __init__(self, verifier: AccessTokenVerifier, policies: dict[str, access_pb2.AccessPolicy]) -> None:
        super().__init__()
        self._verifier = verifier
        self._policies = policies

    async def _authorise(self, method: str, context: Context) -> None:
        if method.startswith(_OPEN_PREFIXES):
            return
        policy = self._policies.get(method)
        if policy is None:
            raise PermissionDenied("method has no access policy")
        if policy.public:
            return
        header = _metadata(context).get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("missing bearer token")
        principal = await self._verifier.verify(token.strip())
        if not principal.has_role(policy.min_role):
            raise PermissionDenied(f"requires role {policy.min_role}")
        set_principal(principal)

    def wrap_unary(self, method: str, behavior: Unary) -> Unary:
        async def authorised(request: Any, context: Context) -> Any:
            await self._authorise(method, context)
            return await behavior(request, context)

        return authorised

    def wrap_stream(self, method: str, behavior: Stream) -> Stream:
        async def authorised(request: Any, context: Context) -> AsyncIterator[Any]:
            await self._authorise(method, context)
            async for item in behavior(request, context):
                yield item

        return authorised
