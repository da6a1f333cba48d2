"""The `dataset` and `prompts` groups (what is asked), and `interop` (the official layout)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from ..retry import RetryConfig


def download_retry() -> RetryConfig:
    """Pinned files from GitHub: a few quick tries."""
    return RetryConfig(max_attempts=4, initial_wait=0.5, max_wait=10.0, max_retry_after=60.0)


SOURCES = ("github", "huggingface", "path")


@dataclass
class DatasetConfig:
    # The CritPt version (a file in critpt_harness/data/versions/: its ids, checksums, sources and the
    # published table made on it); `critpt-harness data list` shows them. v1 is the last version whose
    # problems are known and checkable (README, "Problems").
    version: str = "v1"
    # github = the version's pinned commit (raw files); huggingface = the Hugging Face dataset at
    # dataset.revision (needs the huggingface extra); path = dataset.path. A dataset.path implies path.
    source: str = "github"
    # Hugging Face: a commit hash, or a branch/tag resolved once (the hash is recorded); empty = the
    # version's known revision.
    revision: Optional[str] = None
    # Local directory of Challenge_N.json files (or the parquet of a Hugging Face copy, as
    # `critpt-harness data pull data.dir=...` writes it); empty = download the version's set.
    path: Optional[str] = None
    # Raw-file URL of the GitHub source; {name} is replaced by Challenge_N.json. Empty = the version's
    # pinned commit.
    url_template: Optional[str] = None
    # Where downloads are cached; empty = $CRITPT_HARNESS_CACHE or ~/.cache/critpt-harness. (Hugging Face
    # files go to huggingface_hub's own cache: HF_HOME / HF_HUB_CACHE.)
    cache_dir: Optional[str] = None
    # Verify the problems against the version's checksums. false accepts a copy or revision that does not
    # match (or a version whose checksums are unknown); every label then says "unverified".
    verify: bool = True
    download_timeout: float = 60.0
    # Tries per file after a dropped connection or a 5xx (the one retry shape: generation.retry's).
    retry: RetryConfig = field(default_factory=lambda: download_retry())
    # false = a private set (any *.json challenge files in dataset.path, e.g. the example challenge):
    # batches must cover that set instead of the version's public ids; grade it with grade-local.
    public: bool = True
    # Also ask the challenges' sub-problem checkpoints, each challenge's steps in one conversation.
    checkpoints: bool = False
    # A subset for a smoke test: these ids only (e.g. [Challenge_3_main,Challenge_7_main]) and/or the
    # first N ids in the set's stable order. A subset is never posted to the official grader.
    ids: List[str] = field(default_factory=list)
    limit: Optional[int] = None  # the first N problems of the set (a smoke test); null = all

    @property
    def kind(self) -> str:
        """Where the problems come from: a dataset.path is always a path."""
        return "path" if self.path else self.source


@dataclass
class DataConfig:
    """`critpt-harness data pull|list` (critpt_harness/data/pull.py)."""

    action: str = "list"  # set by the word after `data`
    # data pull: a folder to write the problem set and the official prompt files into, for nodes that
    # see it (they then run with the dataset.path=... prompts.path=... it prints); empty = the caches.
    dir: Optional[str] = None
    # data pull: also fetch the official prompt files (prompts.*).
    prompts: bool = True


def check_dataset(cfg: DatasetConfig) -> None:
    """The dataset keys that contradict each other, named."""
    from ..errors import ConfigError

    if cfg.source not in SOURCES:
        raise ConfigError(f"dataset.source={cfg.source!r}: use one of {', '.join(SOURCES)}")
    if cfg.path and cfg.source == "huggingface":
        raise ConfigError(f"dataset.path={cfg.path} and dataset.source=huggingface: a path is read as it is; "
                          "drop one of them")
    if cfg.source == "path" and not cfg.path:
        raise ConfigError("dataset.source=path needs dataset.path=<folder of Challenge_N.json files>")
    if cfg.revision and cfg.kind != "huggingface":
        raise ConfigError(f"dataset.revision={cfg.revision} is a Hugging Face revision: add "
                          "dataset.source=huggingface, or drop it")


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
