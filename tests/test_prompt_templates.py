"""The official prompt templates are compiled once per process and the parse turn is split once
around its code template; what every item gets stays exactly what a full render gives."""

from __future__ import annotations

import re
from collections import Counter

import jinja2
import pytest

from critpt_harness.data.official_prompts import CODE_VAR, PARSE_ROOT, OfficialText
from critpt_harness.data.prompt_templates import Templates
from critpt_harness.generation import prompts

from .synthetic import public_problem
from .test_official_prompts import CODE, FIXTURE, FIXTURE_SUMS, fixture_text


@pytest.fixture
def jinja_work(monkeypatch):
    """Counts Jinja's parses (by template source) and its compilations to Python code."""
    counts: Counter = Counter()
    parse, compile_ = jinja2.Environment._parse, jinja2.Environment._compile

    def counted_parse(self, source, name, filename):  # type: ignore[no-untyped-def]
        counts[("parse", source)] += 1
        return parse(self, source, name, filename)

    def counted_compile(self, source, filename):  # type: ignore[no-untyped-def]
        counts["compile"] += 1
        return compile_(self, source, filename)

    monkeypatch.setattr(jinja2.Environment, "_parse", counted_parse)
    monkeypatch.setattr(jinja2.Environment, "_compile", counted_compile)
    return counts


def test_70_problems_x_2_prompts_compile_each_template_at_most_once(jinja_work):
    import yaml

    text = fixture_text()
    n_templates = len(yaml.safe_load((FIXTURE / "templates" / "prompt_template_default.yaml").read_text()))
    prompt_set = prompts.activate(prompts.PromptSet(source="official", hash=text.digest, official=text))
    rendered = []
    for n in range(1, 71):
        description, template = public_problem(n)
        for parsing in (False, True):
            system, user = prompts.initial_messages(description, template, parsing)
            rendered.append((parsing, template, system["content"], prompts.parse_turn(template)))
    assert jinja_work["compile"] <= n_templates
    parses = {k: v for k, v in jinja_work.items() if k != "compile"}
    assert parses and max(parses.values()) == 1, "a template was parsed more than once"
    assert len(rendered) == 140 and prompt_set is prompts.active()

    # every prompt is what a render from scratch gives
    fresh = Templates(text.templates)
    for parsing, template, system, parse_turn in rendered[:6] + rendered[-6:]:
        assert parse_turn == fresh.render(PARSE_ROOT, {CODE_VAR: template})
        assert system == OfficialText.parse({n: (FIXTURE / n).read_bytes() for n in FIXTURE_SUMS},
                                            "again").system_prompt(parsing)


# "C" stands for the code template's variable, "P" for the parse turn.
CASES = {
    "pasted": ({"P": "a {{C}} b"}, True),
    "pasted in a pasted key": ({"P": "x\n{{B}}\ny", "B": "<{{C}}>"}, True),
    "under an if on another key": ({"P": "{% if S == 'a' %}{{C}}{% else %}-{{C}}-{% endif %}", "S": "a"}, True),
    "filtered": ({"P": "{{C | indent(2)}}"}, False),
    "a key holding it filtered": ({"P": "{{B | indent(2)}}", "B": "{{C}}"}, False),
    "tested": ({"P": "{% if C == '' %}empty{% endif %}[{{C}}]"}, False),
    "in a loop": ({"P": "{% for i in [1, 2] %}{{C}}{% endfor %}"}, False),
    "twice": ({"P": "{{C}}{{C}}"}, False),
    "not used": ({"P": "no code here"}, False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_parse_turn_is_spliced_only_where_that_equals_a_full_render(case):
    given, spliceable = CASES[case]
    sources = {PARSE_ROOT if k == "P" else k: re.sub(r"\bC\b", CODE_VAR, v) for k, v in given.items()}
    assert (Templates(sources).splice(PARSE_ROOT, CODE_VAR) is not None) == spliceable
    text = OfficialText(templates=sources, phrases={}, digest="", origin="test")
    for value in (CODE, "", "\n", "two\n  lines\n", "{{ not a variable }}"):
        assert text.parse_turn(value) == Templates(sources).render(PARSE_ROOT, {CODE_VAR: value})
