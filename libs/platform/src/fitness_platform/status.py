"""The one place that turns domain errors into gRPC status with rich details."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from fitness_platform.errors import DomainError, InvalidArgument, ResourceExhausted

DETAILS_KEY = "grpc-status-details-bin"


def status_for(error: DomainError) -> status_pb2.Status:
    status = status_pb2.Status(code=error.code.value[0], message=error.message)
    if isinstance(error, InvalidArgument):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in error.violations
            ]
        )
        _pack(status, bad_request)
    if isinstance(error, ResourceExhausted) and error.retry_after_seconds:
        retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=error.retry_after_seconds))
        _pack(status, retry)
    return status


def _pack(status: status_pb2.Status, detail: object) -> None:
    packed = any_pb2.Any()
    packed.Pack(detail)  # type: ignore[arg-type]
    status.details.append(packed)


async def abort_with(context: grpc.aio.ServicerContext[object, object], error: DomainError) -> None:
    status = status_for(error)
    await context.abort(
        error.code,
        error.message,
        trailing_metadata=((DETAILS_KEY, status.SerializeToString()),),
    )
