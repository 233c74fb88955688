"""The sources YAML (`<experiments dir>/sources.yaml`, or EXPTRACK_SOURCES_FILE): where exposures, events and
identities are, in which tool's layout, and how the tool's fields map onto exptrack's contract.

    sources:
      - name: web                      # lower_snake_case, unique; the ingestion log's source is `web:exposures` etc.
        preset: segment                # exptrack | segment | rudderstack | amplitude | mixpanel | snowplow | ga4 |
        custom
        folder: segment                # <raw dir>/<folder>/date=YYYY-MM-DD/ holds the tool's files (default: name)
        exposure_event: Experiment Viewed   # optional: the tool event that records an exposure
        exposures: {variant: properties.variation_name}   # optional: override any field of a contract
        attributes: {platform: context.device.type}      # optional: exposure attributes for segments
      - name: app
        preset: mixpanel
        epoch: ms                      # optional: the unit of epoch timestamps (s, ms, us, auto)

Without the file the landing zone is read as before: one `exptrack` source per contract, `exposures/` and `events/`.
A wrong file fails with the file, the field and the fix (`SourcesError`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from exptrack_pipeline.config.registry import SOURCES_FILE_NAME, explain_errors
from exptrack_pipeline.ingest.contract import CONTRACTS
from exptrack_pipeline.sources.mapping import field_sql, predicate_sql

PRESETS = (
    "exptrack",
    "segment",
    "segment_warehouse",
    "rudderstack",
    "amplitude",
    "mixpanel",
    "snowplow",
    "ga4",
    "custom",
)
FORMATS = ("jsonl", "amplitude_zip", "snowplow_tsv", "parquet", "csv", "table")
TABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$"
FieldSpec = str | dict[str, Any]


class SourcesError(ValueError):
    """The sources YAML is wrong; the message names the file, the field and what to do."""


class Route(BaseModel):
    """Which records of a mixed stream feed a contract: `{field, equals | in | not_in}` or `{sql}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    field: FieldSpec | None = None
    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None
    sql: str | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Route:
        tests = [t for t in ("equals", "in_", "not_in") if getattr(self, t) is not None]
        if self.sql is None and (self.field is None or len(tests) != 1):
            raise ValueError(
                "a route is {field: <path>, equals: <text>} (or `in:` / `not_in:` a list), or {sql: <condition>}"
            )
        return self

    def as_dict(self) -> dict[str, Any]:
        """The mapping as a plain dict (aliases, no unset fields)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class Source(BaseModel):
    """One source of the sources YAML: its preset, folder, format and field overrides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    preset: Literal[PRESETS]  # type: ignore[valid-type]
    folder: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-./]+$")
    format: Literal[FORMATS] | None = None  # type: ignore[valid-type]
    exposure_event: str | None = None
    epoch: Literal["s", "ms", "us", "auto"] | None = None
    routes: dict[Literal["exposures", "identities"], Route] = Field(default_factory=dict)
    exposures: dict[str, FieldSpec] = Field(default_factory=dict)
    events: dict[str, FieldSpec] = Field(default_factory=dict)
    identities: dict[str, FieldSpec] = Field(default_factory=dict)
    attributes: dict[str, FieldSpec] = Field(default_factory=dict)
    warehouse_schema: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    tables: dict[Literal["exposures", "events", "identities"], str] = Field(default_factory=dict)
    day_column: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @field_validator("name")
    @classmethod
    def _snake(cls, name: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"{name!r}: a source name is lower_snake_case (a-z, 0-9, _), e.g. web_segment")
        return name

    @property
    def root(self) -> str:
        """The landing-zone folder of the source: `folder`, else its name."""
        return self.folder or self.name

    @model_validator(mode="after")
    def _fields_known(self) -> Source:
        for contract in ("exposures", "events", "identities"):
            known = CONTRACTS[contract].core_columns
            for column, spec in getattr(self, contract).items():
                if column not in known:
                    raise ValueError(
                        f"{contract}.{column}: not a field of the {contract} contract; use one of {', '.join(known)}"
                    )
                try:
                    field_sql(spec)
                except ValueError as exc:
                    raise ValueError(f"{contract}.{column}: {exc}") from None
        for name, spec in self.attributes.items():
            if name in CONTRACTS["exposures"].core_columns or not name.replace("_", "").isalnum():
                raise ValueError(f"attributes.{name}: an attribute name is lower_snake text and not a contract column")
            field_sql(spec)
        for route in self.routes.values():
            predicate_sql(route.as_dict())
        for contract, table in self.tables.items():
            if not re.fullmatch(TABLE_NAME, table):
                raise ValueError(f"tables.{contract}: {table!r} is not a table name (schema.table)")
        if (self.format == "table" or self.tables or self.warehouse_schema) and self.preset not in (
            "exptrack",
            "segment_warehouse",
            "custom",
        ):
            raise ValueError(
                "warehouse tables are read by the exptrack or segment_warehouse preset (with warehouse_schema) "
                "or a custom source with format: table"
            )
        if self.format == "table" and not self.day_column:
            raise ValueError(
                "a custom table source needs `day_column`: the timestamp column that puts each row on a day"
            )
        if self.preset == "custom":
            if self.format is None:
                raise ValueError(f"a custom source needs `format` (one of {', '.join(FORMATS)})")
            if not self.events and not self.exposures:
                raise ValueError(
                    "a custom source maps its fields: give `events:` and/or `exposures:` (see README: Connect "
                    "your data)"
                )
        if self.preset == "exptrack" and (
            self.format or self.exposures or self.events or self.identities or self.routes
        ):
            raise ValueError("the exptrack preset is the native contract: it takes no format, routes or field mappings")
        return self


class SourcesFile(BaseModel):
    """The sources YAML: one or more sources, names unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> SourcesFile:
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        roots = [s.root for s in self.sources]
        if len(set(roots)) != len(roots):
            raise ValueError(f"two sources read the same folder: {roots}; give each its own `folder`")
        return self


def sources_path(experiments_dir: Path) -> Path:
    """The sources YAML: EXPTRACK_SOURCES_FILE, else sources.yaml in the experiments folder."""
    return Path(os.environ.get("EXPTRACK_SOURCES_FILE") or experiments_dir / SOURCES_FILE_NAME).expanduser().resolve()


def _explain(path: Path, data: Any, exc: ValidationError) -> SourcesError:
    def label(loc: list) -> list:
        """`sources.1` → `sources.1 (app)`: the entry's name, when it has one."""
        if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
            entry = (data.get("sources") or [None])[loc[1]] if isinstance(data, dict) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            loc[1] = f"{loc[1]}" + (f" ({name})" if name else "")
        return loc

    return SourcesError(f"{path}: invalid\n" + explain_errors(exc, "Connect your data", label))


def load_sources(path: Path) -> SourcesFile | None:
    """The validated sources file, or None when there is none (the native landing zone)."""
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SourcesError(f"{path}: is not valid YAML ({exc}). Fix the syntax at the line shown.") from exc
    if not isinstance(data, dict):
        raise SourcesError(f"{path}: expected a mapping with a `sources:` list, got {type(data).__name__}")
    try:
        return SourcesFile.model_validate(data)
    except ValidationError as exc:
        raise _explain(path, data, exc) from None
