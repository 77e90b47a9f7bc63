"""Every workouts RPC refuses anonymous and forged callers (native gRPC)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import symbol_database

from fitness.options.v1 import access_pb2
from fitness.workouts.v1 import workouts_pb2
from fitness_devstack.stack import Stack

pytestmark = pytest.mark.integration


def methods() -> list[tuple[str, str, str]]:
    found = []
    for service in workouts_pb2.DESCRIPTOR.services_by_name.values():
        for method in service.methods:
            policy = method.GetOptions().Extensions[access_pb2.access]
            assert not policy.public and policy.min_role == "user", method.full_name
            found.append((service.full_name, method.name, method.input_type.full_name))
    return found


@pytest.fixture(scope="module")
def channel(stack: Stack) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{stack.grpc_ports['workouts']}") as ch:
        yield ch


@pytest.mark.parametrize(("service", "method", "input_type"), methods(), ids=lambda v: str(v).rsplit(".", 1)[-1])
def test_anonymous_and_forged_callers_are_refused(
    channel: grpc.Channel, service: str, method: str, input_type: str
) -> None:
    request = symbol_database.Default().GetSymbol(input_type)()
    call = channel.unary_unary(
        f"/{service}/{method}", request_serializer=lambda m: m.SerializeToString(), response_deserializer=lambda b: b
    )
    for metadata in ([], [("authorization", "Bearer forged.token.here")]):
        with pytest.raises(grpc.RpcError) as refused:
            call(request, metadata=metadata, timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
