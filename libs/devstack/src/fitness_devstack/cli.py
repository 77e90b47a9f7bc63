"""`fitness-dev up`: the whole system on embedded defaults, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from fitness_devstack.stack import ROOT, Stack


def main() -> None:
    parser = argparse.ArgumentParser(prog="fitness-dev")
    parser.add_argument("command", choices=["up"], nargs="?", default="up")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".devstack")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stack = Stack(args.state_dir)
    try:
        stack.up()
        print(
            "\nFitness backend is up\n"
            f"  REST + gRPC gateway  {stack.gateway_url}   (e.g. POST {stack.gateway_url}/v1/auth/register)\n"
            f"  JWKS                 {stack.gateway_url}/.well-known/jwks.json\n"
            f"  Envoy admin          http://127.0.0.1:{stack.ports.envoy_admin}\n"
            + "".join(
                f"  {name:<20} grpc 127.0.0.1:{port}  metrics http://127.0.0.1:{stack.metrics_ports[name]}/metrics\n"
                for name, port in stack.grpc_ports.items()
            )
            + f"  PostgreSQL (admin)   {stack.admin_database_url}\n"
            f"  Redis                {stack.redis_url}\n"
            f"  Kafka bootstrap      {stack.kafka_bootstrap}\n"
            f"  SMTP sink            127.0.0.1:{stack.smtp.port if stack.smtp else '-'} (mails are printed here)\n"
            f"  Logs                 {args.state_dir / 'logs'}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        stop.wait()
    finally:
        print("stopping...", flush=True)
        stack.stop()


if __name__ == "__main__":
    main()
