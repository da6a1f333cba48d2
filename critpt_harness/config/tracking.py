"""The ``tracking`` config group: logging each run to an experiment tracker at every stage end.

``tracking=mlflow`` logs to MLflow's local file store (offline); a tracking failure is a warning and
never fails or loses a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

TRACKING_BACKENDS = ("none", "mlflow")


@dataclass
class TrackingConfig:
    # none | mlflow (`tracking=mlflow`; needs `pip install 'critpt-harness[tracking]'`).
    backend: str = "none"
    # Where MLflow stores runs: a folder (its file store; read it with `mlflow ui --backend-store-uri <folder>`)
    # or any MLflow tracking URI (sqlite:///..., http://...). Empty = runs/mlruns, beside the run folders.
    uri: Optional[str] = None
    # The MLflow experiment every run is logged under.
    experiment: str = "critpt"
    # Also log the report, manifest, results and checks files as artifacts.
    artifacts: bool = True
