"""Pure configuration: experiment registry, metric catalog and paths. No Dagster, no I/O beyond reading YAML."""

from exptrack_pipeline.config.experiments import Experiment, GuardrailMetric, SuccessCriteria, Variant
from exptrack_pipeline.config.metrics import MetricCatalog, MetricDefinition
from exptrack_pipeline.config.registry import Registry, RegistryError, load_registry
from exptrack_pipeline.config.settings import Settings

__all__ = [
    "Experiment",
    "GuardrailMetric",
    "MetricCatalog",
    "MetricDefinition",
    "Registry",
    "RegistryError",
    "Settings",
    "SuccessCriteria",
    "Variant",
    "load_registry",
]
