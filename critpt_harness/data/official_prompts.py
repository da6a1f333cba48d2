"""The official CritPt prompt text: downloaded from the pinned commit, verified, cached, rendered.

The official repository has no licence, so its sentences are not part of this
tool. Its prompt files are fetched at run time (as the problem set is), checked
against the checksums in ``data/official_prompts.json`` and rendered here to the
same strings the official pipeline builds:

- ``templates/prompt_template_default.yaml``: a YAML mapping of Jinja templates.
  ``SYSTEM_PROMPT`` and ``PARSE_PROMPT`` refer to other keys; each referenced key
  is rendered first (recursively) and its result is the value of that variable.
  The protocol is the variable ``PROMPT_SPECS_STYLE`` (``two-step`` /
  ``one-step``); the parse turn's code template is ``PROMPT_SPECS_ANSWER_CODE_TEMPLATE``,
  inserted verbatim. Rendering (:mod:`.prompt_templates`) compiles each template once per
  process; the system prompts are rendered once each and the parse turn once around its
  code template, so an item costs no template work.
- ``src/critpt/generation/prompts.py``: the tool variants. With the python tool one
  phrase of the system prompt is replaced by another; with web search one sentence
  (after a newline) is appended three times. The phrases are read from that file's
  ``build_system_prompt`` (the string constants bound to ``needle``, ``replacement``
  and ``reminder``).
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Dict, Mapping, Optional


from ..config import PromptsConfig, is_local_url
from ..errors import PromptsError
from ..runs import default_cache_dir
from ..failures import HTTPStatusError, unreachable
from ..http import OFFLINE_ENV, async_client, get_bytes, offline
from ..retry import RetryPolicy
from .prompt_templates import Templates

log = logging.getLogger(__name__)

_PINNED = json.loads(resources.files("critpt_harness").joinpath("data/official_prompts.json").read_text())
COMMIT: str = _PINNED["commit"]
FILES: Dict[str, str] = dict(_PINNED["files"])  # repository path -> sha256 of its bytes
TEMPLATE_FILE = "templates/prompt_template_default.yaml"
BUILDER_FILE = "src/critpt/generation/prompts.py"

SYSTEM_ROOT = "SYSTEM_PROMPT"
PARSE_ROOT = "PARSE_PROMPT"
STYLE_VAR = "PROMPT_SPECS_STYLE"
CODE_VAR = "PROMPT_SPECS_ANSWER_CODE_TEMPLATE"
# build_system_prompt appends the web-search sentence this many times.
WEB_REPEATS = 3

HOW_TO = ("Pass prompts.path=<folder> (the templates/ folder of a clone of github.com/CritPt-Benchmark/CritPt "
          f"at commit {COMMIT[:12]}), or prompts.source=own to use the tool's own paraphrase "
          "(offline; scores not comparable to published ones).")


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def verify(name: str, content: bytes, source: str, expected: Optional[Mapping[str, str]] = None) -> None:
    want = (expected or FILES)[name]
    got = sha256(content)
    if got != want:
        raise PromptsError(
            f"{source}: content does not match the official CritPt prompt file {name} at commit {COMMIT[:12]} "
            f"(sha256 {got[:12]}, expected {want[:12]}). {HOW_TO}"
        )


# ---------------------------------------------------------------- rendering

def _builder_phrases(source: str) -> Dict[str, str]:
    """The string constants bound to needle / replacement / reminder in build_system_prompt."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise PromptsError(f"{BUILDER_FILE}: not valid Python ({exc.msg})") from exc
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "build_system_prompt"), None)
    found: Dict[str, str] = {}
    for node in ast.walk(fn) if fn else ():
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            found[node.targets[0].id] = node.value.value
    missing = [k for k in ("needle", "replacement", "reminder") if k not in found]
    if missing:
        raise PromptsError(f"{BUILDER_FILE}: build_system_prompt does not set {', '.join(missing)}")
    return found


@dataclass(frozen=True)
class OfficialText:
    """The official prompt files, parsed; renders every prompt the protocol needs. Each template is
    compiled once, each system prompt rendered once, and the parse turn once around its code
    template: an item only pastes in its own template."""

    templates: Mapping[str, Any]
    phrases: Mapping[str, str]
    digest: str
    origin: str
    jinja: Templates = field(init=False, repr=False, compare=False)
    _rendered: Dict[Any, Any] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "jinja", Templates(self.templates))

    @classmethod
    def parse(cls, files: Mapping[str, bytes], origin: str) -> "OfficialText":
        import yaml

        try:
            templates = yaml.safe_load(files[TEMPLATE_FILE].decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise PromptsError(f"{origin}: {TEMPLATE_FILE} is not valid YAML ({exc})") from exc
        if not isinstance(templates, dict) or SYSTEM_ROOT not in templates or PARSE_ROOT not in templates:
            raise PromptsError(f"{origin}: {TEMPLATE_FILE} does not define {SYSTEM_ROOT} and {PARSE_ROOT}")
        phrases = _builder_phrases(files[BUILDER_FILE].decode("utf-8"))
        digest = hashlib.sha256(json.dumps({k: sha256(v) for k, v in sorted(files.items())}).encode()).hexdigest()
        return cls(templates=templates, phrases=phrases, digest=digest, origin=origin)

    def system_prompt(self, parsing: bool, use_python: bool = False, use_web_search: bool = False) -> str:
        key = (parsing, use_python, use_web_search)
        if key not in self._rendered:
            text = self.jinja.render(SYSTEM_ROOT, {STYLE_VAR: "one-step" if parsing else "two-step"})
            if use_python:
                text = text.replace(self.phrases["needle"], self.phrases["replacement"])
            if use_web_search:
                text += self.phrases["reminder"] * WEB_REPEATS
            self._rendered[key] = text
        return str(self._rendered[key])

    def parse_turn(self, code_template: str) -> str:
        if PARSE_ROOT not in self._rendered:  # None: the template does more than paste the code in
            self._rendered[PARSE_ROOT] = self.jinja.splice(PARSE_ROOT, CODE_VAR)
        around = self._rendered[PARSE_ROOT]
        if around is None:
            return self.jinja.render(PARSE_ROOT, {CODE_VAR: code_template})
        return f"{around[0]}{code_template}{around[1]}"


# ---------------------------------------------------------------- getting the files

def cache_folder(cfg: PromptsConfig) -> Path:
    root = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir()
    tag = hashlib.sha256(cfg.url_template.encode()).hexdigest()[:12]
    return root / "prompts" / f"official-{tag}"


def _local_file(folder: Path, name: str) -> Path:
    """``name`` (a repository path) under a clone: ``folder`` is its templates/ folder or the clone."""
    root = folder.parent if (folder / Path(TEMPLATE_FILE).name).is_file() else folder
    return root / name


def read_local(folder: Path) -> OfficialText:
    if not folder.is_dir():
        raise PromptsError(f"prompts.path={folder} is not a directory: give the templates/ folder of a clone of "
                           "github.com/CritPt-Benchmark/CritPt")
    files: Dict[str, bytes] = {}
    for name in FILES:
        path = _local_file(folder, name)
        if not path.is_file():
            raise PromptsError(f"prompts.path={folder}: {path} not found (the official prompt builder reads "
                               f"{', '.join(FILES)} from the repository). {HOW_TO}")
        files[name] = path.read_bytes()
        verify(name, files[name], str(path))
    return OfficialText.parse(files, f"prompts.path={folder}")


async def _download(cfg: PromptsConfig, names: list[str]) -> Dict[str, bytes]:
    import httpx  # only when downloading

    policy = RetryPolicy.from_config(cfg.retry, permanent=unreachable)  # offline: say so at once
    out: Dict[str, bytes] = {}
    async with async_client(timeout=cfg.download_timeout) as client:
        for name in names:
            url = cfg.url_template.format(path=name)
            try:
                out[name] = await get_bytes(client, url, policy)
            except HTTPStatusError as exc:
                raise PromptsError(f"downloading the official prompt file {url} failed with HTTP "
                                   f"{exc.status_code}. {HOW_TO}") from exc
            except httpx.TransportError as exc:
                raise PromptsError(f"cannot download the official prompt file {url} ({type(exc).__name__}: "
                                   f"{exc}); you may be offline. {HOW_TO}") from exc
            verify(name, out[name], url)
    return out


def fetch(cfg: PromptsConfig) -> OfficialText:
    """The official files from the cache, else downloaded (and verified) once."""
    folder = cache_folder(cfg)
    files: Dict[str, bytes] = {}
    todo = []
    for name in FILES:
        path = folder / name
        if path.is_file():
            try:
                verify(name, path.read_bytes(), str(path))
                files[name] = path.read_bytes()
                continue
            except PromptsError:
                log.warning("cached %s is damaged; downloading it again", path)
        todo.append(name)
    if todo:
        sample = cfg.url_template.format(path=todo[0])
        if offline() and not is_local_url(sample):
            raise PromptsError(f"the official prompt text is not cached in {folder} and {OFFLINE_ENV} is set, "
                               f"so {sample} is not downloaded. {HOW_TO}")
        log.info("downloading the official CritPt prompt files into %s", folder)
        for name, content in asyncio.run(_download(cfg, todo)).items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(content)
            os.replace(tmp, target)
            files[name] = content
    return OfficialText.parse(files, f"{cfg.url_template.format(path='…')} (cached in {folder})")


def load(cfg: PromptsConfig) -> OfficialText:
    if cfg.path:
        return read_local(Path(cfg.path).expanduser())
    return fetch(cfg)
