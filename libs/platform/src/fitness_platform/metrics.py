"""Prometheus metrics shared by every service (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RPC_DURATION = Histogram(
    "grpc_server_handling_seconds",
    "Time to answer an RPC, by method and status code.",
    ["method", "code"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
OUTBOX_PENDING = Gauge("outbox_pending_events", "Outbox rows not yet acknowledged by the broker.")
OUTBOX_LAG = Histogram(
    "outbox_publish_lag_seconds",
    "Time from the outbox write to the broker's acknowledgement.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows published.", ["topic"])
INBOX_PROCESSED = Counter("inbox_events_total", "Events consumed, by type and outcome.", ["event_type", "outcome"])
CONSUMER_LAG = Gauge("consumer_lag_messages", "Messages behind the end of the partition.", ["topic"])
DEPENDENCY_UP = Gauge("dependency_up", "1 when the dependency answered its last check.", ["name"])


def serve_metrics(port: int) -> None:
    if port:
        start_http_server(port, addr="0.0.0.0")
