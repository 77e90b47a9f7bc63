"""`make bench`: throughput and latency of the running system (see README)."""
