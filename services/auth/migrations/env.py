from alembic import context

from fitness_platform.migrations import run_env

run_env(context)
