"""Loading, validating, downloading and caching the problem set."""

import json
import shutil

import pytest

from critpt_harness.retry import RetryConfig

from critpt_harness.config import DatasetConfig
from critpt_harness.errors import DatasetError
from critpt_harness.data.problems import PUBLIC_IDS, load_directory
from critpt_harness.data.sets import load_problems
from tests.fakes.base import Fault
from tests.fakes.files import FakeFileHost


def assert_loads_validated_and_hashed(folder):
    ps = load_directory(folder)
    assert ps.ids == list(PUBLIC_IDS) and len(ps) == 70
    assert len(ps.sha256) == 64 and load_directory(folder).sha256 == ps.sha256
    args = {p.problem_id: p.answer_args for p in ps.problems}
    assert args["Challenge_62_main"] == ["phi", "k", "k_value"]
    assert sum(1 for a in args.values() if not a) == 39  # answer() without arguments


def test_the_public_set_loads_validated_and_hashed(public_dir):
    assert_loads_validated_and_hashed(public_dir)


def test_the_real_public_set_loads_validated_and_hashed(real_public_dir):
    assert_loads_validated_and_hashed(real_public_dir)


def test_sets_with_different_content_hash_differently(public_dir, tmp_path):
    data = copy_set(public_dir, tmp_path)
    path = data / "Challenge_12.json"
    content = json.loads(path.read_text())
    content["problems"][0]["problem_description"] += " (edited)"
    path.write_text(json.dumps(content))
    assert load_directory(data).sha256 != load_directory(public_dir).sha256


def copy_set(public_dir, tmp_path):
    target = tmp_path / "data"
    shutil.copytree(public_dir, target)
    return target


def test_a_broken_file_names_the_file_and_the_field(public_dir, tmp_path):
    data = copy_set(public_dir, tmp_path)
    path = data / "Challenge_7.json"
    content = json.loads(path.read_text())
    del content["problems"][0]["code_template"]
    path.write_text(json.dumps(content))
    with pytest.raises(DatasetError) as info:
        load_directory(data)
    assert "Challenge_7.json" in str(info.value) and "problems[0].code_template" in str(info.value)


def test_a_template_without_answer_is_rejected(public_dir, tmp_path):
    data = copy_set(public_dir, tmp_path)
    path = data / "Challenge_3.json"
    content = json.loads(path.read_text())
    content["problems"][0]["code_template"] = "def solve():\n    return 1\n"
    path.write_text(json.dumps(content))
    with pytest.raises(DatasetError, match=r"Challenge_3.json[\s\S]*def answer"):
        load_directory(data)


def test_invalid_json_is_named(public_dir, tmp_path):
    data = copy_set(public_dir, tmp_path)
    (data / "Challenge_9.json").write_text("{not json")
    with pytest.raises(DatasetError, match="Challenge_9.json: not valid JSON"):
        load_directory(data)


def test_missing_and_extra_problems_are_caught(public_dir, tmp_path):
    data = copy_set(public_dir, tmp_path)
    (data / "Challenge_70.json").unlink()
    extra = json.loads((data / "Challenge_1.json").read_text())
    extra["problems"][0]["problem_id"] = "Challenge_71_main"
    (data / "Challenge_71.json").write_text(json.dumps(extra))
    with pytest.raises(DatasetError) as info:
        load_directory(data)
    assert "missing 1: Challenge_70_main" in str(info.value)
    assert "Challenge_71_main" in str(info.value)


def test_download_verifies_and_caches_then_works_offline(real_public_dir, tmp_path):
    """Against the pinned checksums: needs the real files."""
    public_dir = real_public_dir
    cfg = DatasetConfig(cache_dir=str(tmp_path / "cache"))
    with FakeFileHost(public_dir) as host:
        host.inject(Fault(503), Fault.dropped())  # transient failures are retried
        cfg.url_template = host.url_template
        first = load_problems(cfg)
        assert len(host.requests) == 72
    assert first.ids == list(PUBLIC_IDS)
    assert first.sha256 == load_directory(public_dir).sha256
    # The host is gone: the cache alone serves the same set.
    again = load_problems(cfg)
    assert again.sha256 == first.sha256


def test_a_download_that_is_not_the_pinned_set_is_refused_unless_verify_is_off(public_dir, tmp_path):
    """The synthetic set is not the pinned commit: refused and nothing cached; with
    dataset.verify=false (a modified copy) it is downloaded, cached, and served offline."""
    cfg = DatasetConfig(cache_dir=str(tmp_path / "cache"), retry=RetryConfig(max_attempts=1))
    with FakeFileHost(public_dir) as host:
        cfg.url_template = host.url_template
        with pytest.raises(DatasetError, match="does not match the pinned CritPt commit"):
            load_problems(cfg)
    assert not list((tmp_path / "cache").rglob("Challenge_*.json"))
    cfg = DatasetConfig(cache_dir=str(tmp_path / "cache"), verify=False)
    with FakeFileHost(public_dir) as host:
        host.inject(Fault(503), Fault.dropped())  # transient failures are retried
        cfg.url_template = host.url_template
        first = load_problems(cfg)
        assert len(host.requests) == 72
    assert first.ids == list(PUBLIC_IDS) and first.sha256 == load_directory(public_dir).sha256
    assert len(list((tmp_path / "cache").rglob("Challenge_*.json"))) == 70
    again = load_problems(cfg)  # the host is gone: the cache alone serves the same set
    assert again.sha256 == first.sha256


def test_offline_without_cache_says_what_to_do(tmp_path):
    cfg = DatasetConfig(cache_dir=str(tmp_path / "cache"), url_template="http://127.0.0.1:9/{name}",
                        retry=RetryConfig(max_attempts=1))
    with pytest.raises(DatasetError, match="offline. With a clone .* pass dataset.path=.* and prompts.path="):
        load_problems(cfg)


def test_a_tampered_download_is_refused(real_public_dir, tmp_path):
    """One edited file of the real set: that file is refused by its pinned checksum."""
    data = copy_set(real_public_dir, tmp_path)
    content = json.loads((data / "Challenge_5.json").read_text())
    content["problems"][0]["problem_description"] += " (edited)"
    (data / "Challenge_5.json").write_text(json.dumps(content))
    with FakeFileHost(data) as host:
        cfg = DatasetConfig(cache_dir=str(tmp_path / "cache"), url_template=host.url_template)
        with pytest.raises(DatasetError, match="does not match the pinned CritPt commit"):
            load_problems(cfg)
    assert not list((tmp_path / "cache").rglob("Challenge_5.json"))
