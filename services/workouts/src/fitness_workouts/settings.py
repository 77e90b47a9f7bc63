"""Workouts settings: environment variables prefixed WORKOUTS_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from fitness_platform.settings import ServiceSettings


class WorkoutsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WORKOUTS_", extra="ignore")

    service_name: str = "workouts"
    db_schema: str = "workouts"
    grpc_port: int = 50052
    # Search results beyond this many are not paged through (relevance order).
    max_search_results: int = 500
    sync_page_size: int = 200
