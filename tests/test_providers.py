"""Providers carry capabilities; nothing tests a provider by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from critpt_harness.errors import ConfigError
from critpt_harness.providers import PROVIDERS, is_offline

from .conftest import REPO, make_config


def test_capabilities():
    assert is_offline("mock") and not is_offline("openai_compatible") and not is_offline(None)
    assert not PROVIDERS["mock"].needs_key and PROVIDERS["openai_compatible"].needs_key
    assert not PROVIDERS["imported"].generates


def test_an_unknown_or_non_generating_provider_is_refused_for_generation():
    with pytest.raises(ConfigError, match="model.provider='nope' cannot be used here: use one of mock, openai_compatible"):
        make_config("model.provider=nope")
    with pytest.raises(ConfigError, match="model.provider='imported'"):
        make_config("model.provider=imported", "command=generate")


def test_no_code_tests_a_provider_by_name():
    pattern = re.compile(r"provider\)?\s*[!=]=\s*[\"'](mock|openai_compatible|imported)[\"']")
    offenders = [str(p.relative_to(REPO)) for p in Path(REPO / "critpt_harness").rglob("*.py")
                 if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
