"""Typed config schemas, one module per concern, registered in Hydra's ConfigStore.

Every YAML file under ``configs/`` is validated against these dataclasses, so a
misspelt key or a value of the wrong type fails with an error naming the key.
Each field's identity class (does it change the answers?) is in identity.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

from .catalog import CatalogConfig
from .grading import GraderConfig
from .report import ReportConfig
from .reading import CompareConfig, TableConfig, ViewConfig
from .data import DataConfig, DatasetConfig, InteropConfig, PromptsConfig, download_retry
from .generation import GenerationConfig, ResumeConfig, ToolsConfig
from .model import ModelConfig, PricingConfig, ServeConfig, is_local_url, keyless, web_search_mode
from .sandbox import SandboxChoice, SandboxConfig
from .submission import ChecksConfig, EvaluatorConfig, QueueConfig
from .tracking import TrackingConfig
from .sweeps import _first, _job_suffix, _stamp, slugify, sweep_keys, varying_overrides

__all__ = ["HarnessConfig", "register", "register_resolvers", "validate", "model_label", "CatalogConfig", "GraderConfig", "ReportConfig",
           "DataConfig", "DatasetConfig", "InteropConfig", "PromptsConfig", "download_retry", "GenerationConfig", "ResumeConfig",
           "ToolsConfig", "ModelConfig", "PricingConfig", "ServeConfig", "is_local_url", "keyless",
           "web_search_mode", "SandboxChoice", "SandboxConfig", "ChecksConfig", "EvaluatorConfig", "QueueConfig",
           "slugify", "sweep_keys", "varying_overrides", "ViewConfig", "TableConfig", "CompareConfig",
           "TrackingConfig"]


@dataclass
class HarnessConfig:
    command: str = "run"  # set by the word after critpt-harness
    # The run folder (configs/config.yaml: runs/<model>/<start time>); an existing one is resumed.
    run_dir: str = "runs/unnamed"
    model: ModelConfig = field(default_factory=ModelConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    prompts: PromptsConfig = field(default_factory=PromptsConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    interop: InteropConfig = field(default_factory=InteropConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    grader: GraderConfig = field(default_factory=GraderConfig)
    resume: ResumeConfig = field(default_factory=ResumeConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    data: DataConfig = field(default_factory=DataConfig)
    # sandbox.backend=auto|bwrap|subprocess|docker for every sandbox (tools/sandbox.py).
    sandbox: SandboxChoice = field(default_factory=SandboxChoice)
    # tracking=mlflow: log the run to an experiment tracker at each stage end (config/tracking.py).
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    # The read-only commands: `view`, `table`, `compare` (config/reading.py).
    view: ViewConfig = field(default_factory=ViewConfig)
    table: TableConfig = field(default_factory=TableConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    # Free-form notes copied into the manifest and the batch metadata.
    tags: List[str] = field(default_factory=list)


def register() -> None:
    """Register the schema so every YAML file is validated against it. Only the root is stored: the
    group files are merged onto its typed nodes, and a schema stored in a group would be one of that
    group's options (`model=schema`)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="harness_schema", node=HarnessConfig)
    register_resolvers()


def register_resolvers() -> None:
    """The resolvers run_dir's default uses (OmegaConf alone: a composition read back from the
    cache needs no Hydra)."""
    from omegaconf import OmegaConf

    for name, fn in (("slug", slugify), ("first", _first), ("job_suffix", _job_suffix), ("stamp", _stamp)):
        if not OmegaConf.has_resolver(name):  # cached: run_dir reads one time however often it is read
            OmegaConf.register_new_resolver(name, fn, use_cache=name == "stamp")


def model_label(cfg: HarnessConfig) -> str:
    return cfg.model.label or cfg.model.name


from .validate import validate  # noqa: E402  (it types its argument with HarnessConfig)
