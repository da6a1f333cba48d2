"""CritPt versions as data: one file per version in ``data/versions/`` (its problem ids, a checksum
per problem, where it is published, its date and the published table made on it).

``dataset.version`` chooses one. Adding a version is adding one file here. A version whose
contents nobody here has seen (v2) has no ids and no checksums: it can only be used unverified
(``dataset.verify=false``), and every label says so.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import DatasetConfig
from ..contracts import problem_order
from ..errors import ConfigError, DatasetError
from ..runs import canonical_sha256

# The fields of a problem that make it the same problem whatever file or table it came from: what
# the model is asked and the template it fills (a parquet row and a JSON file agree on these).
CHECKED_FIELDS = ("problem_id", "problem_description", "code_template")
COMMIT_HASH = re.compile(r"^[0-9a-f]{40}$")


def problem_checksum(problem: Mapping[str, Any]) -> str:
    """SHA-256 of a problem's checked fields, as canonical JSON."""
    return canonical_sha256({k: problem.get(k) for k in CHECKED_FIELDS})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GithubRelease(_Strict):
    repository: str
    commit: str  # the pinned commit
    directory: str  # where the Challenge_N.json files are
    # SHA-256 of each file's canonical JSON (keys sorted, no whitespace): verifies a download exactly.
    file_sha256: Dict[str, str] = Field(default_factory=dict)

    def url_template(self) -> str:
        return f"https://raw.githubusercontent.com/{self.repository}/{self.commit}/{self.directory}/{{name}}"


class HubRelease(_Strict):
    repo_id: str
    # A commit hash known to hold exactly this version; None when none is known.
    revision: Optional[str] = None
    files: List[str] = Field(default_factory=lambda: ["data/train-00000-of-00001.parquet"])
    note: str = ""


class BenchmarkVersion(_Strict):
    name: str
    title: str
    date: Optional[str] = None  # when it was published, when known
    description: str = ""
    # None: not known to this tool (it can then only be used unverified).
    problem_ids: Optional[List[str]] = None
    problem_sha256: Dict[str, str] = Field(default_factory=dict)
    github: Optional[GithubRelease] = None
    huggingface: Optional[HubRelease] = None
    # The published leaderboard made on this version (a file in critpt_harness/data/), if any.
    leaderboard: Optional[str] = None
    notes: List[str] = Field(default_factory=list)
    file: str = ""  # where this description was read from (set when loading)

    @property
    def known(self) -> bool:
        return self.problem_ids is not None

    @property
    def label(self) -> str:
        return f"CritPt {self.name}"

    def _unverifiable(self, where: str) -> DatasetError:
        return DatasetError(
            f"{where}: {self.label}'s problems are not known to this tool (no ids, no checksums), so it cannot be "
            "verified. Use it knowingly with dataset.verify=false (every label then says 'unverified'), or a "
            f"known version: {', '.join(v.name for v in known_versions() if v.known)}.")

    def id_differences(self, ids: Iterable[str]) -> Tuple[List[str], List[str]]:
        """(this version's ids that are missing, ids that are not this version's)."""
        got, mine = set(ids), set(self.problem_ids or [])
        return [i for i in self.problem_ids or [] if i not in got], sorted(got - mine, key=problem_order)

    def check_ids(self, ids: Iterable[str], where: str) -> None:
        """Refuse a set whose ids are not exactly this version's, naming what differs."""
        if not self.known:
            raise self._unverifiable(where)
        missing, extra = self.id_differences(ids)
        if missing or extra:
            parts = [f"{label} {len(found)}: {', '.join(found[:12])}{', ...' if len(found) > 12 else ''}"
                     for label, found in (("missing", missing), (f"not in {self.label}", extra)) if found]
            raise DatasetError(
                f"{where} does not hold the {len(self.problem_ids or [])} problems of {self.label} "
                f"({'; '.join(parts)}). The grader only accepts batches covering exactly its set: use a "
                "complete copy of this version, choose the version this copy is (`critpt-harness data list`), "
                "or accept it unverified with dataset.verify=false.")

    def check(self, problems: Iterable[Mapping[str, Any]], where: str, *, verify: bool = True
              ) -> Tuple[bool, List[str]]:
        """(verified, problems whose text differs) for a loaded set. With ``verify`` a set that is not
        this version (other ids, other text, or a version with no known checksums) is refused, naming
        what differs and ``where`` it came from; without it that set is accepted as unverified."""
        rows = list(problems)
        ids = [str(p.get("problem_id")) for p in rows]
        if not self.known:
            if verify:
                raise self._unverifiable(where)
            return False, []
        if verify:
            self.check_ids(ids, where)
        missing, extra = self.id_differences(ids)
        differ = [i for p, i in zip(rows, ids) if i in self.problem_sha256 and problem_checksum(p) != self.problem_sha256[i]]
        if verify and differ:
            raise DatasetError(
                f"{where}: {len(differ)} problem(s) differ from {self.label} ({', '.join(differ[:12])}"
                f"{', ...' if len(differ) > 12 else ''}: their description or template does not match the "
                "version's checksum). Use a faithful copy, or accept this one unverified with dataset.verify=false.")
        return not (missing or extra or differ), differ


def _read(path: Any) -> BenchmarkVersion:
    try:
        version = BenchmarkVersion.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ConfigError(f"{path}: not a valid CritPt version file ({exc})") from exc
    if version.name != Path(str(path)).stem:
        raise ConfigError(f"{path}: its name is {version.name!r}; a version file is named after its version")
    return version.model_copy(update={"file": str(path)})


# A folder of more version files (a site that knows a newer version's ids, a test): each file adds
# a version, or replaces the shipped one of the same name.
VERSIONS_ENV = "CRITPT_HARNESS_VERSIONS"


def versions_dir() -> Any:
    return resources.files("critpt_harness").joinpath("data/versions")


@lru_cache(maxsize=None)
def _all(extra: str) -> Tuple[BenchmarkVersion, ...]:
    found = {v.name: v for v in (_read(p) for p in versions_dir().iterdir() if p.name.endswith(".json"))}
    if extra:
        folder = Path(extra).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"{VERSIONS_ENV}={extra} is not a folder of CritPt version files")
        found.update({v.name: v for v in (_read(p) for p in sorted(folder.glob("*.json")))})
    return tuple(sorted(found.values(), key=lambda v: (v.date or "9999", v.name)))


def known_versions() -> List[BenchmarkVersion]:
    """Every version this tool knows, oldest first (undated ones last)."""
    return list(_all(os.environ.get(VERSIONS_ENV, "")))


def get(name: str) -> BenchmarkVersion:
    for v in known_versions():
        if v.name == name:
            return v
    raise ConfigError(f"dataset.version={name!r} is not a CritPt version this tool knows: use one of "
                      f"{', '.join(v.name for v in known_versions())} (`critpt-harness data list`)")


def matching(ids: Iterable[str]) -> Optional[BenchmarkVersion]:
    """The known version whose ids are exactly ``ids``."""
    wanted = set(ids)
    return next((v for v in known_versions() if v.known and set(v.problem_ids or []) == wanted), None)


DEFAULT = DatasetConfig().version
PUBLIC_IDS: Tuple[str, ...] = tuple(get(DEFAULT).problem_ids or ())
