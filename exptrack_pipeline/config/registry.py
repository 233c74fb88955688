"""Load and cross-check the experiment registry: every YAML file plus the metric catalog."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from exptrack_pipeline.config.experiments import Experiment
from exptrack_pipeline.config.metrics import MetricCatalog

CATALOG_FILE_NAME = "metrics.yaml"
SOURCES_FILE_NAME = "sources.yaml"
"""The sources YAML beside the registry (exptrack_pipeline/sources) is not an experiment."""


class RegistryError(ValueError):
    """A registry file is wrong; the message names the file, the field and what to do."""


@dataclass(frozen=True)
class Registry:
    """The validated experiments and the metric catalog they use."""

    experiments: tuple[Experiment, ...]
    catalog: MetricCatalog

    def get(self, experiment_id: str) -> Experiment:
        """The experiment `experiment_id`; RegistryError listing the known ids when it is not there."""
        for experiment in self.experiments:
            if experiment.id == experiment_id:
                return experiment
        known = ", ".join(e.id for e in self.experiments)
        raise RegistryError(f"unknown experiment {experiment_id!r}; the registry has: {known}")


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: is not valid YAML ({exc}). Fix the syntax at the line shown.") from exc
    except OSError as exc:
        raise RegistryError(f"{path}: cannot be read ({exc.strerror}).") from exc


def explain_errors(exc: ValidationError, readme_section: str, label=None) -> str:
    """One line per pydantic error: the field (its location, relabelled by `label(loc)` when given) and the fix."""
    lines = []
    for error in exc.errors():
        loc = label(list(error["loc"])) if label else error["loc"]
        field = ".".join(str(part) for part in loc) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required but missing; add it"
        elif error["type"] == "extra_forbidden":
            message = f"is not a known field; check the spelling (see README: {readme_section})"
        lines.append(f"  - field `{field}`: {message}")
    return "\n".join(lines)


def _explain(path: Path, exc: ValidationError) -> RegistryError:
    return RegistryError(f"{path}: invalid\n" + explain_errors(exc, "experiment registry"))


def load_catalog(path: Path) -> MetricCatalog:
    """Read and validate the metric catalog YAML; RegistryError naming the file and field otherwise."""
    if not path.is_file():
        raise RegistryError(f"{path}: metric catalog not found. Create it (see experiments/metrics.yaml in the repo).")
    data = _read_yaml(path)
    try:
        return MetricCatalog.model_validate(data)
    except ValidationError as exc:
        raise _explain(path, exc) from None


def load_experiment(path: Path) -> Experiment:
    """Read and validate one experiment YAML; RegistryError naming the file and field otherwise."""
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise RegistryError(
            f"{path}: expected a mapping of experiment fields (id, name, variants, ...), got {type(data).__name__}"
        )
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        raise _explain(path, exc) from None


def check_flags(experiments: list[Experiment], files: dict[str, Path]) -> None:
    """One flag per experiment (no two share a flag key) and weights the flag can express (exptrack_pipeline.flags)."""
    from exptrack_pipeline.flags.definition import FlagError, integer_weights

    owners: dict[str, str] = {}
    for e in experiments:
        key = e.flag_key or e.id
        if key in owners:
            raise RegistryError(
                f"{files[e.id]}: field `flag_key`: flag key {key!r} is already the flag of experiment {owners[key]!r}; "
                "every experiment needs its own flag: set a distinct `flag_key`"
            )
        owners[key] = e.id
        try:
            for _, phase_start, _, weights in e.phases:
                first = phase_start  # named in the error below
                integer_weights(e.id, weights)
            first = "ship_ramp"
            for step in e.ship_ramp:
                integer_weights(e.id, {"winner": step.winner_share, "control": 1 - step.winner_share})
        except FlagError as exc:
            raise RegistryError(f"{files[e.id]}: field `variants`/`allocation_phases` ({first}): {exc}") from None


def load_registry(experiments_dir: Path, metrics_file: Path | None = None) -> Registry:
    """Read every `*.yaml`/`*.yml` in `experiments_dir` (except the catalog) and check them together."""
    metrics_file = metrics_file or experiments_dir / CATALOG_FILE_NAME
    if not experiments_dir.is_dir():
        raise RegistryError(f"{experiments_dir}: experiment registry folder not found (set EXPTRACK_EXPERIMENTS_DIR).")
    catalog = load_catalog(metrics_file)
    files = sorted(
        p
        for p in experiments_dir.iterdir()
        if p.suffix in (".yaml", ".yml") and p.resolve() != metrics_file.resolve() and p.name != SOURCES_FILE_NAME
    )
    experiments: list[Experiment] = []
    seen: dict[str, Path] = {}
    for path in files:
        experiment = load_experiment(path)
        if experiment.id in seen:
            raise RegistryError(
                f"{path}: field `id`: experiment id {experiment.id!r} is already used by "
                f"{seen[experiment.id]}; ids must be unique"
            )
        seen[experiment.id] = path
        unknown = [m for m, _ in experiment.metric_roles if m not in catalog.ids]
        if unknown:
            raise RegistryError(
                f"{path}: unknown metric(s) {', '.join(map(repr, unknown))}; "
                f"define them in {metrics_file} or use one of: {', '.join(sorted(catalog.ids))}"
            )
        metric_ids = [m for m, _ in experiment.metric_roles]
        if len(set(metric_ids)) != len(metric_ids):
            raise RegistryError(
                f"{path}: a metric is listed twice across primary/secondary/guardrail metrics: {metric_ids}"
            )
        experiments.append(experiment)
    check_flags(experiments, seen)
    return Registry(experiments=tuple(experiments), catalog=catalog)
