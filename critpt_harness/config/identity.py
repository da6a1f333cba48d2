"""What makes two runs the same set-up: every config field classified once.

A run folder may only be resumed when every *identity* setting (one that
changes what the model is asked or how it answers) is unchanged. Each field of
the schemas (this package) is classified here, by its dotted path or by an
ancestor's; ``tests/test_identity.py`` fails when a field is added without a
classification, so a new setting can never slip past the resume check.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Iterator, List, Sequence, Tuple


# True: changes what the model is asked or answers. False: it does not (speed, retries,
# paths, time limits that do not shape answers, everything after generation).
CLASSIFICATION: Dict[str, bool] = {
    "command": False,
    "run_dir": False,
    "tags": False,
    "resume": False,
    # model
    "model.name": True,
    "model.provider": True,
    # The same model behind another port is the same set-up, but we cannot know that:
    # identity, accepted knowingly with resume.allow_changed=[model.base_url].
    "model.base_url": True,
    "model.api_key_env": False,
    "model.label": True,
    "model.temperature": True,
    "model.top_p": True,
    "model.max_output_tokens": True,
    "model.max_tokens_param": True,
    "model.api": True,
    "model.reasoning_effort": True,
    "model.reasoning_tokens": True,
    "model.reasoning_budget_style": True,
    "model.reasoning_summary": True,
    "model.web_search": True,
    "model.request_timeout": False,
    "model.stream": False,
    "model.idle_timeout": False,
    "model.max_timeout_retries": False,
    "model.background": False,
    "model.pricing": False,
    "model.checkpoint": True,
    "model.serve": False,
    "model.extra_body": True,
    "model.extra_headers": True,
    "model.catalog_ids": False,
    # generation
    "generation.epochs": False,  # more epochs extend a run
    "generation.concurrency": False,
    "generation.parsing": True,
    "generation.use_python": True,
    "generation.use_web_search": True,
    # The tool environment shapes what the model sees from its code.
    "generation.tools.max_calls": True,
    "generation.tools.max_seconds": True,
    "generation.tools.bash": True,
    "generation.tools.sandbox": True,
    "generation.keep_reasoning": True,
    "generation.retry": False,
    "generation.progress": False,
    "generation.log_every": False,
    "generation.log_seconds": False,
    "generation.max_cost_usd": False,
    "generation.preflight": False,
    "generation.stop_after_fatal": False,
    # dataset: the content is covered by the dataset hash, not by where it came from
    # The version is identity (another version is another benchmark); where its problems came from is not.
    "dataset.version": True,
    "dataset.source": False,
    "dataset.revision": False,
    "dataset.path": False,
    "dataset.url_template": False,
    "dataset.cache_dir": False,
    "dataset.verify": False,
    "dataset.download_timeout": False,
    "dataset.retry": False,
    "dataset.public": True,
    "dataset.checkpoints": True,
    "dataset.ids": True,
    "dataset.limit": True,
    # prompts: the text used is covered by the prompt hash (manifest), not by where it came from
    "prompts": False,
    # stages after generation never change the answers
    "evaluator": False,
    "catalog": False,
    "checks": False,
    "queue": False,
    "data": False,
    "interop": False,
    "report": False,
    "grader": False,
    "tracking": False,
    # the read-only commands
    "view": False,
    "table": False,
    "compare": False,
    # Copied into generation.tools.sandbox (identity there) by configs/config.yaml.
    "sandbox": False,
}


def classification(path: str) -> bool | None:
    """The classification of a dotted path: its own entry, else its nearest ancestor's."""
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        found = CLASSIFICATION.get(".".join(parts[:n]))
        if found is not None:
            return found
    return None


def schema_paths(*, leaves: bool = False) -> Iterator[str]:
    """Every field of the schema as a dotted path (with ``leaves``, only the fields that are not
    typed groups of fields themselves), from the one walk of the schema in fields.py."""
    from .fields import NODE, schema

    return (path for path, f in schema().items() if not (leaves and f.kind == NODE))


@lru_cache(maxsize=1)
def _schema_leaves() -> frozenset:
    return frozenset(schema_paths(leaves=True))


def _leaves(tree: Any, prefix: str = "") -> Iterator[Tuple[str, Any]]:
    """(dotted path, value) for every identity leaf of a resolved config tree."""
    if not isinstance(tree, dict):
        return
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if classification(path) is False:
            continue
        # A schema section is walked; a dict-valued setting (model.extra_body) is one value.
        if isinstance(value, dict) and path not in _schema_leaves():
            yield from _leaves(value, path + ".")
        elif classification(path):
            yield path, value


def identity(resolved: Dict[str, Any]) -> Dict[str, Any]:
    """The identity settings of a resolved config, by dotted path."""
    return dict(_leaves(resolved))


def config_hash(resolved: Dict[str, Any]) -> str:
    from ..runs import canonical_sha256  # here: the schemas (and a command's --help) need no run-folder code

    return canonical_sha256(identity(resolved))


def differences(stored: Dict[str, Any], resolved: Dict[str, Any]) -> List[Tuple[str, Any, Any]]:
    """(key, stored value, new value) for every identity setting that differs.

    A key the stored config does not have (a run made before the setting existed) is
    not compared: its value then is unknown, not different.
    """
    old, new = identity(stored), identity(resolved)
    return [(k, old[k], new.get(k)) for k in sorted(old) if old[k] != new.get(k)]


def split_allowed(diffs: Sequence[Tuple[str, Any, Any]], allowed: Sequence[str]
                  ) -> Tuple[List[Tuple[str, Any, Any]], List[Tuple[str, Any, Any]]]:
    """(refused, accepted): differences under a key of ``allowed`` are accepted knowingly."""
    def ok(key: str) -> bool:
        return any(key == a or key.startswith(a + ".") for a in allowed)

    return [d for d in diffs if not ok(d[0])], [d for d in diffs if ok(d[0])]
