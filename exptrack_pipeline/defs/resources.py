"""Every Dagster resource of the project, configured from the EXPTRACK_* environment (secrets via `dg.EnvVar` only).

`resources()` is the one place they are built; `definitions.py` loads it with the rest of `defs/`. An asset, check
or sensor asks for a resource by its parameter name: warehouse, registry, landing_zone, output_paths, dbt, slack,
feature_flags, monitoring.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, get_args, get_origin

import dagster as dg
import pandas as pd
from pydantic import Field, create_model

from exptrack_pipeline.config import Registry, Settings, load_registry
from exptrack_pipeline.config.settings import PostgresSettings
from exptrack_pipeline.defs.dbt.cli_resource import ExptrackDbtCliResource
from exptrack_pipeline.defs.project import dbt_executable, dbt_project
from exptrack_pipeline.flags.paths import flag_file_path
from exptrack_pipeline.monitoring import HealthConfig
from exptrack_pipeline.notify.env import TOKEN_VAR, MonitoringEnv
from exptrack_pipeline.notify.flags import FeatureFlagController, make_controller
from exptrack_pipeline.notify.slack import DEFAULT_BASE_URL, SlackSender
from exptrack_pipeline.reports import OutputPaths
from exptrack_pipeline.site import scorecard
from exptrack_pipeline.sources import sources_path
from exptrack_pipeline.warehouse import Warehouse, make_warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse dbt and the Python assets share: a DuckDB file (default; one writer at a time, pool `duckdb`)
    or a PostgreSQL database (`target="postgres"`, the `pg_*` fields; the password only from an `EnvVar`)."""

    target: str = "duckdb"
    path: str = ""
    memory_limit: str = ""  # DuckDB's; empty: EXPTRACK_DUCKDB_MEMORY_LIMIT, the setting dbt reads, else 3GB
    pg_host: str = "localhost"
    pg_port: int = 5432
    pg_user: str = "exptrack"
    pg_database: str = "exptrack"
    pg_sslmode: str = "prefer"
    pg_password: str | None = None

    def backend(self) -> Warehouse:
        """The backend the fields name (exptrack_pipeline.warehouse.make_warehouse: the one place it is chosen)."""
        pg = PostgresSettings(
            host=self.pg_host, port=self.pg_port, user=self.pg_user, database=self.pg_database, sslmode=self.pg_sslmode
        )
        return make_warehouse(
            self.target, self.path, pg, password=self.pg_password, memory_limit=self.memory_limit or None
        )

    @property
    def kind(self) -> str:
        """The backend kind: duckdb or postgres."""
        return self.target

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[Any]:
        """A connection to the warehouse (read-only when asked), closed on exit."""
        with self.backend().connect(read_only=read_only) as con:
            yield con

    @contextmanager
    def one_connection(self, read_only: bool = False) -> Iterator[Warehouse]:
        """The warehouse for a block of reads and writes on one connection where the backend can hold one (DuckDB:
        each open reads the file's catalog, ~30 ms of CPU), else the backend itself (a connection per call)."""
        backend = self.backend()
        if not hasattr(backend, "one_connection"):
            yield backend
            return
        with backend.one_connection(read_only=read_only) as held:
            yield held

    def read_df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """The query's result as a DataFrame."""
        return self.backend().read_df(sql, params)

    def execute(self, sql: str, params: list | None = None) -> None:
        """Run one statement in its own connection."""
        self.backend().execute(sql, params)

    def replace_table(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        """Replace `schema.table` with the frame's rows in one transaction."""
        self.backend().replace_table(schema, table, frame)

    def describe(self) -> str:
        """The warehouse in words, for messages (file path or database and host)."""
        return self.backend().describe()

    @classmethod
    def from_settings(cls, settings: Settings) -> WarehouseResource:
        """The resource for the settings' target: the DuckDB file, or the PostgreSQL database."""
        if settings.target == "spark":  # Spark Connect URL and table format from the environment (spark_backend.py)
            return cls(target="spark", path=str(settings.warehouse))
        if settings.target != "postgres":
            return cls(target="duckdb", path=str(settings.warehouse))
        pg = settings.postgres
        return cls(
            target="postgres",
            path=str(settings.warehouse),
            pg_host=pg.host,
            pg_port=pg.port,
            pg_user=pg.user,
            pg_database=pg.database,
            pg_sslmode=pg.sslmode,
            pg_password=dg.EnvVar("EXPTRACK_PG_PASSWORD"),
        )


class RegistryResource(dg.ConfigurableResource):
    """The experiment registry (one YAML per experiment) and the metric catalog."""

    experiments_dir: str
    metrics_file: str

    def load(self) -> Registry:
        """The registry loaded and validated from the YAML files."""
        return load_registry(Path(self.experiments_dir), Path(self.metrics_file))


class LandingZoneResource(dg.ConfigurableResource):
    """The landing zone: <raw_dir>/{exposures,events}/date=YYYY-MM-DD/*.{parquet,csv,jsonl}, or the folders the
    sources YAML names (`sources_file`, when it exists; exptrack_pipeline/sources)."""

    raw_dir: str
    sources_file: str = ""


class OutputPathsResource(dg.ConfigurableResource):
    """Where reports, summaries, handoffs and the archive are written (EXPTRACK_OUTPUT_DIR; folders:
    reports.OutputPaths)."""

    root: str

    def paths(self) -> OutputPaths:
        """The output folders under `root`."""
        return OutputPaths(Path(self.root))


class SlackResource(dg.ConfigurableResource):
    """Slack Web API access. `token` comes from SLACK_BOT_TOKEN via dg.EnvVar (unset → dry run: alerts are logged)."""

    token: str | None = None
    base_url: str = DEFAULT_BASE_URL
    leadership_channel: str = "#exp-leadership"
    data_engineering_channel: str = "#data-eng"
    dagster_url: str = "http://localhost:3000"
    timeout_seconds: float = 10.0
    rate_limit_retries: int = 2
    server_error_retries: int = 2
    connection_retries: int = 1
    retry_backoff_seconds: float = 0.5

    def sender(self) -> SlackSender | None:
        """A Slack sender with the token, or None without one (dry run)."""
        if not self.token:
            return None
        return SlackSender(
            self.token,
            self.base_url,
            timeout_seconds=self.timeout_seconds,
            rate_limit_retries=self.rate_limit_retries,
            server_error_retries=self.server_error_retries,
            connection_retries=self.connection_retries,
            backoff_seconds=self.retry_backoff_seconds,
        )

    @classmethod
    def from_env(cls) -> SlackResource:
        """The resource from the environment (token through dg.EnvVar when SLACK_BOT_TOKEN is set)."""
        env = MonitoringEnv.from_env()
        return cls(
            token=dg.EnvVar(TOKEN_VAR) if os.environ.get(TOKEN_VAR) else None,
            base_url=env.slack_api_url,
            leadership_channel=env.leadership_channel,
            data_engineering_channel=env.data_engineering_channel,
            dagster_url=env.dagster_url,
        )


class FeatureFlagResource(dg.ConfigurableResource):
    """What a pause switches: `none` (record only), `webhook` (POST JSON to webhook_url) or `flagd` (write
    flag_file)."""

    mode: str = "none"
    webhook_url: str | None = None
    timeout_seconds: float = 10.0
    flag_file: str | None = None

    def controller(self, connect=None) -> FeatureFlagController:
        """The flag controller of the configured mode."""
        return make_controller(
            self.mode, self.webhook_url, self.timeout_seconds, connect=connect, flag_file=self.flag_file
        )


class FlagFileResource(dg.ConfigurableResource):
    """Where exptrack's flagd flag file lives (EXPTRACK_FLAG_FILE, default <output dir>/flags/flags.flagd.json)."""

    path: str


def _threshold_fields() -> dict[str, Any]:
    """HealthConfig's fields (type, default, description) as Dagster config: tuples become lists."""
    fields = {}
    for name, spec in HealthConfig.model_fields.items():
        annotation, default = spec.annotation, spec.default
        if get_origin(annotation) is tuple:
            annotation, default = list[get_args(annotation)[0]], list(default)
        fields[name] = (annotation, Field(default, description=spec.description))
    return fields


class MonitoringResource(create_model("HealthThresholds", __base__=dg.ConfigurableResource, **_threshold_fields())):
    """Thresholds of the health rules: every field of HealthConfig (exptrack_pipeline.monitoring.model, which owns the
    names, defaults and meanings), generated from it, so a new threshold there is configurable here with no edit."""

    def config(self) -> HealthConfig:
        """The resource's fields as a HealthConfig."""
        values = {name: getattr(self, name) for name in HealthConfig.model_fields}
        return HealthConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


class SiteResource(dg.ConfigurableResource):
    """Where the site goes (<output_dir>/site, beside reports/ and archive/) and the portfolio targets
    (defaults from the seed; EXPTRACK_TARGETS_FILE, a YAML with the same keys, overrides them)."""

    output_dir: str
    completed_per_quarter: float = 12
    time_to_decision_days: float = 14
    win_rate: float = 0.30
    implementation_rate: float = 0.90

    def targets(self) -> scorecard.Targets:
        """The portfolio targets as a scorecard.Targets."""
        return scorecard.Targets(
            self.completed_per_quarter, self.time_to_decision_days, self.win_rate, self.implementation_rate
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SiteResource:
        """The resource for the settings' output folder and the targets from the environment."""
        t = scorecard.Targets.from_env()
        return cls(
            output_dir=str(settings.output_dir),
            completed_per_quarter=t.completed_per_quarter,
            time_to_decision_days=t.time_to_decision_days,
            win_rate=t.win_rate,
            implementation_rate=t.implementation_rate,
        )


def build_resources(settings: Settings) -> dict[str, Any]:
    """Every resource, from resolved settings (paths, warehouse target) and the monitoring environment."""
    env = MonitoringEnv.from_env()
    return {
        "warehouse": WarehouseResource.from_settings(settings),
        "registry": RegistryResource(
            experiments_dir=str(settings.experiments_dir), metrics_file=str(settings.metrics_file)
        ),
        "landing_zone": LandingZoneResource(
            raw_dir=str(settings.raw_dir), sources_file=str(sources_path(settings.experiments_dir))
        ),
        "output_paths": OutputPathsResource(root=str(settings.output_dir)),
        "dbt": ExptrackDbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable(), target=settings.target),
        "slack": SlackResource.from_env(),
        "feature_flags": FeatureFlagResource(
            mode=env.flag_controller, webhook_url=env.flag_webhook_url, flag_file=str(flag_file_path(settings))
        ),
        "flag_file": FlagFileResource(path=str(flag_file_path(settings))),
        "monitoring": MonitoringResource(),
        "site": SiteResource.from_settings(settings),
    }


@dg.definitions
def resources() -> dg.Definitions:
    """The resources of the settings in the environment (`Settings.from_env`, exported so dbt reads the same)."""
    settings = Settings.from_env()
    settings.export()
    return dg.Definitions(resources=build_resources(settings))
