"""The `dataset` and `prompts` groups (what is asked), and `interop` (the official layout)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from ..retry import RetryConfig


def download_retry() -> RetryConfig:
    """Pinned files from GitHub: a few quick tries."""
    return RetryConfig(max_attempts=4, initial_wait=0.5, max_wait=10.0, max_retry_after=60.0)


@dataclass
class DatasetConfig:
    # Local directory of Challenge_N.json files; empty = download the pinned public set.
    path: Optional[str] = None
    # Raw-file URL of the pinned GitHub commit; {name} is replaced by Challenge_N.json.
    url_template: str = (
        "https://raw.githubusercontent.com/CritPt-Benchmark/CritPt/"
        "17c2545c302762d2f2d644d923ea4c301605cb08/data/public_test_challenges/json/{name}"
    )
    # Where downloads are cached; empty = $CRITPT_HARNESS_CACHE or ~/.cache/critpt-harness.
    cache_dir: Optional[str] = None
    # Verify downloaded files against the checksums shipped with the tool.
    verify: bool = True
    download_timeout: float = 60.0
    # Tries per file after a dropped connection or a 5xx (the one retry shape: generation.retry's).
    retry: RetryConfig = field(default_factory=lambda: download_retry())
    # false = a private set (any *.json challenge files in dataset.path, e.g. the example challenge):
    # batches must cover that set instead of the 70 public ids; grade it with grade-local.
    public: bool = True
    # Also ask the challenges' sub-problem checkpoints, each challenge's steps in one conversation.
    checkpoints: bool = False
    # A subset for a smoke test: these ids only (e.g. [Challenge_3_main,Challenge_7_main]) and/or the
    # first N ids in the set's stable order. A subset is never posted to the official grader.
    ids: List[str] = field(default_factory=list)
    limit: Optional[int] = None  # the first N problems of the set (a smoke test); null = all


@dataclass
class PromptsConfig:
    # official = the official CritPt prompt text (downloaded from the pinned commit, checked
    # against the checksums shipped with the tool, cached); own = the tool's paraphrase, for
    # offline use only (scores are not comparable to published ones).
    source: str = "official"
    # A local clone of github.com/CritPt-Benchmark/CritPt (its templates/ folder, or the clone
    # itself): the prompt files are read from there instead of downloaded, and checked alike.
    path: Optional[str] = None
    # Raw-file URL of the pinned GitHub commit; {path} is replaced by the file's repository path.
    url_template: str = (
        "https://raw.githubusercontent.com/CritPt-Benchmark/CritPt/"
        "17c2545c302762d2f2d644d923ea4c301605cb08/{path}"
    )
    # Where downloads are cached; empty = $CRITPT_HARNESS_CACHE or ~/.cache/critpt-harness.
    cache_dir: Optional[str] = None
    download_timeout: float = 60.0
    retry: RetryConfig = field(default_factory=lambda: download_retry())


@dataclass
class InteropConfig:
    """Moving runs to and from the official CritPt pipeline's results/generations layout."""

    # import-official: the official results/generations folder; a tree holding several models or
    # set-ups needs `model` (e.g. openai/gpt-5) and/or `setup` (a part of the folder path below the
    # challenge, e.g. python) to choose one; the command lists the choices.
    source: Optional[str] = None
    model: Optional[str] = None  # import-official: the model to take from a tree of several (e.g. openai/gpt-5)
    setup: Optional[str] = None  # import-official: the set-up to take (a part of its folder path, e.g. python)
    # export-official: where to write; empty = <run_dir>/official/epoch_<k>/.
    export_dir: Optional[str] = None
