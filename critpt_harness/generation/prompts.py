"""The prompts the model sees, from one of two sources (``prompts.source``):

- ``official`` (default): the official CritPt text, downloaded from the pinned
  commit, verified and rendered by :mod:`official_prompts`. As in the official
  pipeline, the user turn is the problem description alone in both protocols
  (its JSON loader attaches no template in one-step: the system prompt's fifth
  item asks for the template "provided at the end of the problem").
- ``own``: the paraphrase below (our own words, the protocol's content and
  structure), for offline use; scores made with it are not comparable to
  published ones. Its one-step user turn appends the template to the problem.

Two-step (``parsing=false``): turn 1 is the problem; turn 2 asks the model to
copy its final answer into the code template, as formatting only. One-step
(``parsing=true``): the system prompt asks for the template to be filled directly.

The pipeline chooses the source once per command (:func:`activate`); the
module-level functions use the active one (``own`` until one is activated).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

log = logging.getLogger(__name__)

SYSTEM_PROMPT = """\
You are a physics research assistant working on open, research-level problems.
Solve the problem step by step, and justify every step by the physical laws, \
principles or mathematical results it relies on.
Write all mathematics in LaTeX.
Use exactly the units, notation and conventions that the problem defines.
Give exact, closed-form results whenever they exist; when a number is required, \
give it to at least 12 significant digits.
End your response with a line that begins with "Final Answer:" followed by your result."""

ONE_STEP_ADDENDUM = """
The problem ends with a Python code template. After your derivation, return that \
template with your final answer filled in, as one complete ```python code block. \
Replace every placeholder (`...`), keep the function name, its arguments and every \
module-level line of the template unchanged, and import nothing that the template \
does not import."""

PYTHON_ADDENDUM = """
You can run Python with the `python` tool. Use it wherever numerical computation, \
symbolic algebra or a quick check makes your answer more reliable; each call is a \
fresh process, so print every value you need."""

WEB_SEARCH_ADDENDUM = """
You also have web search. Use it: look up the definitions, formulas, constants and \
published results that bear on the problem before you commit to an answer."""

ONE_STEP_TEMPLATE_INTRO = """

Fill in the following code template with your final answer:
```python
{code_template}
```"""

PARSE_PROMPT = """\
Now put the final answer you derived above into the Python code template below.
This step is formatting only: do not redo the derivation and do not change your answer.
- Replace every placeholder (`...`) with your result.
- Keep the function name, its arguments, the docstring and every module-level line \
of the template exactly as they are.
- Do not import anything that the template does not already import.
- Return the complete filled template as one ```python code block.

```python
{code_template}
```"""


def own_system_prompt(parsing: bool, use_python: bool = False, use_web_search: bool = False) -> str:
    return (SYSTEM_PROMPT + (PYTHON_ADDENDUM if use_python else "")
            + (WEB_SEARCH_ADDENDUM if use_web_search else "") + (ONE_STEP_ADDENDUM if parsing else ""))


def own_first_turn(problem_description: str, code_template: str, parsing: bool) -> str:
    if parsing:
        return problem_description + ONE_STEP_TEMPLATE_INTRO.format(code_template=code_template)
    return problem_description


def own_step_text(descriptions: List[str], k: int) -> str:
    """The question of checkpoint ``k`` in a multi-turn chain, in the tool's own prompts: the files
    restate every earlier step (with a golden "### Answer:" here and there); only the new part is asked,
    after the model's own earlier answers. (The official builder asks each description as it is.)"""
    text = descriptions[k]
    if k == 0:
        return text
    new = text[len(os.path.commonprefix([descriptions[k - 1], text])):]
    new = re.sub(r"^[ \t]*#+[ \t]*Answer:.*?(?=^[ \t]*#+[ \t]*Subproblem|\Z)", "", new, flags=re.S | re.M)
    return new.strip() or text


def own_parse_turn(code_template: str) -> str:
    return PARSE_PROMPT.format(code_template=code_template)


def own_prompt_hash() -> str:
    """Identifies the paraphrase, so runs with different prompts are told apart."""
    text = "\x00".join([SYSTEM_PROMPT, PYTHON_ADDENDUM, WEB_SEARCH_ADDENDUM, ONE_STEP_ADDENDUM,
                         ONE_STEP_TEMPLATE_INTRO, PARSE_PROMPT])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PromptSet:
    """One prompt source: ``official`` (with its text) or ``own``."""

    source: str
    hash: str
    commit: Optional[str] = None
    official: Any = None  # official_prompts.OfficialText when source == "official"

    @property
    def label(self) -> str:
        return "official prompts" if self.source == "official" else \
            "paraphrased prompts (not comparable to published scores)"

    def manifest(self) -> Dict[str, Any]:
        return {"source": self.source, "hash": self.hash, "commit": self.commit}

    def system_prompt(self, parsing: bool, use_python: bool = False, use_web_search: bool = False) -> str:
        if self.official is not None:
            return str(self.official.system_prompt(parsing, use_python, use_web_search))
        return own_system_prompt(parsing, use_python, use_web_search)

    def first_turn(self, problem_description: str, code_template: str, parsing: bool) -> str:
        if self.official is not None:  # the official loader gives the description alone, in both protocols
            return problem_description
        return own_first_turn(problem_description, code_template, parsing)

    def parse_turn(self, code_template: str) -> str:
        if self.official is not None:
            return str(self.official.parse_turn(code_template))
        return own_parse_turn(code_template)

    def step_text(self, descriptions: List[str], k: int) -> str:
        """Checkpoint ``k``'s question. Official: the sub-problem's description as it is, as the
        official builder gives it (JSON loader, from_step=k, until_step=k+1)."""
        if self.official is not None:
            return descriptions[k]
        return own_step_text(descriptions, k)


OWN = PromptSet(source="own", hash=own_prompt_hash())
_active: PromptSet = OWN


def load(cfg: Any, *, mock: bool = False) -> PromptSet:
    """The prompt set ``cfg`` (a PromptsConfig) asks for. When the official text cannot be
    had, stop (PromptsError) unless ``mock``: the offline mock model compares nothing, so it
    falls back to ``own`` with a one-line notice."""
    if cfg.source == "own":
        return OWN
    from ..data import official_prompts
    from ..errors import PromptsError

    try:
        text = official_prompts.load(cfg)
    except PromptsError as exc:
        if not mock:
            raise
        log.warning("model=mock: the official prompt text cannot be had (%s); using the tool's own "
                    "paraphrased prompts", str(exc).split(". ")[0])
        return OWN
    return PromptSet(source="official", hash=text.digest, commit=official_prompts.COMMIT, official=text)


def activate(prompt_set: PromptSet) -> PromptSet:
    """Make ``prompt_set`` the one the functions below (and the generator) use."""
    global _active
    _active = prompt_set
    return prompt_set


def active() -> PromptSet:
    return _active


def system_prompt(parsing: bool, use_python: bool = False, use_web_search: bool = False) -> str:
    return _active.system_prompt(parsing, use_python, use_web_search)


def first_turn(problem_description: str, code_template: str, parsing: bool) -> str:
    return _active.first_turn(problem_description, code_template, parsing)


def parse_turn(code_template: str) -> str:
    return _active.parse_turn(code_template)


def step_text(descriptions: List[str], k: int) -> str:
    return _active.step_text(descriptions, k)


def initial_messages(problem_description: str, code_template: str, parsing: bool, use_python: bool = False,
                     use_web_search: bool = False) -> List[Dict[str, str]]:
    return [
        {"role": "system", "content": system_prompt(parsing, use_python, use_web_search)},
        {"role": "user", "content": first_turn(problem_description, code_template, parsing)},
    ]


def prompt_hash() -> str:
    """Identifies the prompt text in use, so runs with different prompts are told apart."""
    return _active.hash
