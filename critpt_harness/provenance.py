"""What a run's score is and where it came from.

The one place that decides whether a number may stand among the official
CritPt scores. A score is official only when the official grader returned it
for the full public set; local graders (`serve-grader`, `grade-local`),
subsets, private sets, epochs that reuse one grading and dry runs are labelled
as what they are by every output (terminal, results.json, manifest.json,
report, plot), and only official, independent gradings are ranked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

# The size of CritPt v1, for runs recorded before the manifest named their version (they could only be
# on v1); a test ties it to data/versions/v1.json. Newer runs record their set's size (manifest `dataset`).
PUBLIC_SET_SIZE = 70
LEGACY_VERSION = "v1"
OFFICIAL_HOSTS = ("artificialanalysis.ai",)
OFFICIAL_GRADER = "the official CritPt grader (Artificial Analysis)"

OFFICIAL, LOCAL, DRY_RUN, NOT_GRADED = "official", "local", "dry run", "not graded"


def is_official_url(url: Optional[str]) -> bool:
    host = (urlsplit(url or "").hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in OFFICIAL_HOSTS)


@dataclass
class Grading:
    """One graded epoch as stored in results.json or local_grades.json."""

    epoch: int
    accuracy: float
    content_hash: Optional[str]
    official: bool  # returned by the official grader


@dataclass
class Provenance:
    kind: str  # official | local | dry run | not graded
    grader: str  # who graded, in words
    public_set: bool
    problems: Optional[int]  # problems per graded batch, when known
    subset: bool
    epochs: int  # graded epochs
    distinct: int  # distinct gradings among them (identical batches are graded once)
    accuracies: List[float] = field(default_factory=list)  # one per distinct grading: what the statistics use
    caveats: List[str] = field(default_factory=list)
    version: Optional[str] = None  # the CritPt version the problems are (manifest `dataset.version`)
    verified: Optional[bool] = None  # False: not checked against that version (dataset.verify=false, a copy)
    revision: Optional[str] = None  # the commit the problems came from, when known
    set_size: int = PUBLIC_SET_SIZE  # problems in the version's whole set (the M of "N of M")

    @property
    def reused(self) -> bool:
        return self.distinct < self.epochs

    @property
    def ranked(self) -> bool:
        """May stand among the official scores: official grader, full public set (verified as its version),
        independent epochs."""
        return (self.kind == OFFICIAL and self.public_set and not self.subset and not self.reused
                and self.verified is not False)

    def on_version(self, version: Optional[str]) -> bool:
        """The problems are ``version``'s (a run that recorded none is on v1, the only one then known)."""
        return self.public_set and (self.version or LEGACY_VERSION) == (version or LEGACY_VERSION)

    @property
    def set_name(self) -> str:
        """Which version the problems are, e.g. 'CritPt v1' or 'CritPt v2, unverified revision 0123456789ab'."""
        if not self.public_set or self.version is None:
            return ""
        text = f"CritPt {self.version}"
        if self.verified is False:
            text += f", unverified revision {self.revision[:12]}" if self.revision else ", unverified copy"
        return text

    @property
    def label(self) -> str:
        """The short label every output carries, e.g. 'LOCAL grading, 70 problems, CritPt v1'."""
        return self._label() + (f", {self.set_name}" if self.set_name else "")

    def _label(self) -> str:
        if self.kind in (DRY_RUN, NOT_GRADED):
            base = "DRY RUN: nothing graded" if self.kind == DRY_RUN else "not graded"
            if not self.public_set or self.subset:
                base += f" ({self.problem_set.split(' (')[0]})"
            return base
        n = f"{self.problems} problems" if self.problems is not None else "problems unknown"
        if self.kind == LOCAL:
            text = f"LOCAL grading, {n}"
        elif self.ranked:
            return f"OFFICIAL grading, full public set ({self.set_size} problems)"
        else:
            text = f"OFFICIAL grader, {n}"
        if not self.public_set:
            text += ", private set"
        elif self.subset:
            text += f", subset: {self.problems if self.problems is not None else '?'} of {self.set_size}"
        if self.reused:
            text += f", {self.distinct} distinct grading{'s' if self.distinct != 1 else ''} over {self.epochs} epochs"
        return text

    @property
    def problem_set(self) -> str:
        """Which problems the run answers, e.g. 'subset: 5 of 70'."""
        n = "?" if self.problems is None else str(self.problems)
        if not self.public_set:
            return f"private set, {n} problems"
        if self.subset:
            return f"subset: {n} of {self.set_size} (dataset.ids / dataset.limit)"
        return f"the public set, {n} problems" + (f" ({self.set_name})" if self.set_name else "")

    def sentence(self) -> str:
        """Where the score came from, for the line under it."""
        if self.kind == DRY_RUN:
            return "Dry run: the requests were written and nothing was sent to a grader."
        if self.kind == NOT_GRADED:
            return "Not graded yet."
        parts = [f"**{self.label}**, graded by {self.grader}."]
        parts += self.caveats
        if not self.ranked:
            parts.append("It is not an official CritPt score: it is not ranked among, nor plotted with, "
                         "the official scores.")
        return " ".join(parts)

    def as_dict(self) -> Dict[str, Any]:
        out = asdict(self)
        out.update(label=self.label, ranked=self.ranked, official=self.ranked)
        return out


def _entry_official(entry: Dict[str, Any], default_url: Optional[str]) -> bool:
    if entry.get("local_grader"):
        return False
    source = str(entry.get("source") or "")
    if source.startswith("local grader"):
        return False
    return is_official_url(entry.get("url") or default_url)


def gradings(results: Optional[Dict[str, Any]], default_url: Optional[str] = None) -> List[Grading]:
    """results.json epochs (the submitter's), oldest epoch first; unusable entries are left out."""
    out = []
    for key, e in ((results or {}).get("epochs") or {}).items():
        try:
            out.append(Grading(int(key), float(e["accuracy"]), e.get("content_hash"), _entry_official(e, default_url)))
        except (KeyError, TypeError, ValueError):
            continue
    return sorted(out, key=lambda g: g.epoch)


def local_gradings(local: Optional[Dict[str, Any]]) -> List[Grading]:
    """local_grades.json epochs (grade-local): never official."""
    out = []
    for key, e in ((local or {}).get("epochs") or {}).items():
        try:
            out.append(Grading(int(key), float(e["accuracy"]), e.get("content_hash"), False))
        except (KeyError, TypeError, ValueError):
            continue
    return sorted(out, key=lambda g: g.epoch)


def set_size(manifest: Dict[str, Any]) -> int:
    """Problems in the run's whole set: as recorded at generation, else the v1 size (older runs)."""
    recorded = (manifest.get("dataset") or {}).get("size") or (manifest.get("subset") or {}).get("of")
    return int(recorded) if recorded else PUBLIC_SET_SIZE


def is_subset(config: Dict[str, Any], manifest: Dict[str, Any], problems: Optional[int], public_set: bool) -> bool:
    dataset = config.get("dataset") or {}
    if dataset.get("ids") or dataset.get("limit") or manifest.get("subset"):
        return True
    return public_set and problems is not None and problems < set_size(manifest)


def decide(config: Dict[str, Any], manifest: Dict[str, Any], results: Optional[Dict[str, Any]] = None,
           local: Optional[Dict[str, Any]] = None, problems: Optional[int] = None,
           dry_run_requests: bool = False) -> Provenance:
    """The run's score and its provenance, from its stored files.

    results.json (the submitter's, official or a local server) is the score when it has graded
    epochs; else local_grades.json (grade-local); else the run is a dry run or not graded.
    """
    public = manifest.get("public_set") is not False and (config.get("dataset") or {}).get("public", True) is not False
    if problems is None and manifest.get("problem_ids"):
        problems = len(manifest["problem_ids"])
    subset = is_subset(config, manifest, problems, public)
    url = (config.get("evaluator") or {}).get("url") or "https://artificialanalysis.ai/api/v2/critpt/evaluate"
    graded = gradings(results, url)
    caveats: List[str] = []
    if graded:
        official = [g for g in graded if g.official]
        if len(official) == len(graded):
            kind, grader = OFFICIAL, OFFICIAL_GRADER
        else:
            kind = LOCAL
            urls = sorted({str(e.get("url") or url) for e in (results or {}).get("epochs", {}).values()})
            grader = "a local grader at " + ", ".join(urls) + " (serve-grader), not the official CritPt grader"
            if official:
                caveats.append(f"{len(official)} of {len(graded)} epochs came from the official grader; "
                               "mixed gradings are treated as local.")
    else:
        graded = local_gradings(local)
        if graded:
            kind = LOCAL
            golden = (local or {}).get("golden_set")
            grader = "grade-local (this machine, golden answers" + (f" from {golden}" if golden else "") + \
                     "), not the official CritPt grader"
        else:
            kind = DRY_RUN if dry_run_requests else NOT_GRADED
            grader = "none"
    distinct: Dict[str, Grading] = {}
    for g in graded:
        distinct.setdefault(g.content_hash or f"epoch {g.epoch}", g)
    accuracies = [g.accuracy for g in distinct.values()]
    if len(distinct) < len(graded):
        caveats.append(f"Epochs with identical batches were graded once: {len(distinct)} distinct grading"
                       f"{'s' if len(distinct) != 1 else ''} over {len(graded)} epochs; the mean and interval "
                       "are over the distinct gradings" + (" (an interval needs 2 or more)." if len(distinct) < 2
                                                           else "."))
    recorded = manifest.get("dataset") or {}
    version = recorded.get("version")  # None: recorded before versions (then v1, see on_version)
    verified = recorded.get("verified")
    if verified is False and public:
        caveats.append(f"The problems were not verified as CritPt {version or LEGACY_VERSION} (dataset.verify=false, or a copy whose "
                       "text differs), so the score is not ranked among published ones.")
    return Provenance(kind, grader, public, problems, subset, len(graded), len(distinct), accuracies, caveats,
                      version if public else None, verified, recorded.get("revision"), set_size(manifest))
