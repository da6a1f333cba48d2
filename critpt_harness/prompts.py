"""Prompt text (our own words, the official protocol's content and structure).

Two-step (``parsing=false``, the default): turn 1 is the problem; turn 2 asks
the model to copy its final answer into the code template, as formatting only.
One-step (``parsing=true``): the template follows the problem and the system
prompt asks for it to be filled directly.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Dict, List

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


def system_prompt(parsing: bool, use_python: bool = False, use_web_search: bool = False) -> str:
    return (SYSTEM_PROMPT + (PYTHON_ADDENDUM if use_python else "")
            + (WEB_SEARCH_ADDENDUM if use_web_search else "") + (ONE_STEP_ADDENDUM if parsing else ""))


def first_turn(problem_description: str, code_template: str, parsing: bool) -> str:
    if parsing:
        return problem_description + ONE_STEP_TEMPLATE_INTRO.format(code_template=code_template)
    return problem_description


def step_text(descriptions: List[str], k: int) -> str:
    """The question of checkpoint ``k`` in a multi-turn chain. The files restate
    every earlier step (with its golden "### Answer:" for the golden-context
    protocol); the official default (use_golden_for_prev_steps=false) asks only
    the new part, after the model's own earlier answers."""
    text = descriptions[k]
    if k == 0:
        return text
    new = text[len(os.path.commonprefix([descriptions[k - 1], text])):]
    new = re.sub(r"^[ \t]*#+[ \t]*Answer:.*?(?=^[ \t]*#+[ \t]*Subproblem|\Z)", "", new, flags=re.S | re.M)
    return new.strip() or text


def parse_turn(code_template: str) -> str:
    return PARSE_PROMPT.format(code_template=code_template)


def initial_messages(problem_description: str, code_template: str, parsing: bool, use_python: bool = False,
                     use_web_search: bool = False) -> List[Dict[str, str]]:
    return [
        {"role": "system", "content": system_prompt(parsing, use_python, use_web_search)},
        {"role": "user", "content": first_turn(problem_description, code_template, parsing)},
    ]


def prompt_hash() -> str:
    """Identifies the prompt text, so runs with different prompts are told apart."""
    text = "\x00".join([SYSTEM_PROMPT, PYTHON_ADDENDUM, WEB_SEARCH_ADDENDUM, ONE_STEP_ADDENDUM,
                         ONE_STEP_TEMPLATE_INTRO, PARSE_PROMPT])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
