"""Every shipped config composes and validates; bad values fail naming the key."""

from pathlib import Path

import pytest

from critpt_harness.config import validate
from critpt_harness.errors import ConfigError

from .conftest import make_config, run_cli

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("group,name", [
    (p.parent.name, p.stem) for p in sorted(CONFIGS.glob("*/*.yaml"))
    if p.parent.name in ("model", "generation", "dataset", "evaluator", "catalog", "report", "grader", "experiment")
])
def test_every_config_composes(group, name):
    overrides = [f"{group}={name}"]
    if (group, name) == ("model", "openai_compatible"):
        overrides += ["model.name=x", "model.base_url=http://127.0.0.1:1/v1", "model.api_key_env=X_KEY"]
    if (group, name) in (("model", "vllm_serve"), ("model", "sglang_serve")):  # the one thing it cannot guess
        overrides += ["model.checkpoint=org/ckpt"]
    cfg = make_config(*overrides)
    validate(cfg)
    assert cfg.run_dir.startswith("runs/")


def test_defaults_are_offline_and_dry_run():
    cfg = make_config()
    assert cfg.model.provider == "mock"
    assert cfg.evaluator.dry_run is True
    assert cfg.generation.parsing is False and cfg.generation.epochs == 5
    assert cfg.dataset.path is None
    assert cfg.run_dir.startswith("runs/mock/")


def test_run_dir_uses_a_filesystem_safe_model_name():
    cfg = make_config("model=together")
    assert cfg.run_dir.startswith("runs/meta-llama_Llama-4-Maverick")


def test_openai_compatible_requires_its_three_keys():
    cfg = make_config("model=openai_compatible", "model.name=m", "model.base_url=http://x/v1",
                      "model.api_key_env=K")
    cfg.model.base_url = None
    with pytest.raises(ConfigError, match="model.base_url"):
        validate(cfg)


def test_bad_reasoning_effort_is_rejected():
    with pytest.raises(ConfigError, match="model.reasoning_effort"):
        make_config("model.reasoning_effort=extreme")


def test_cli_names_a_misspelt_key():
    out = run_cli("generate", "generation.epoch=3")
    assert out.returncode != 0
    assert "generation.epoch" in out.stderr


def test_cli_names_a_key_with_the_wrong_type():
    out = run_cli("generate", "generation.epochs=many")
    assert out.returncode != 0
    assert "generation.epochs" in out.stderr


def test_cli_rejects_an_unknown_command():
    out = run_cli("grade")
    assert out.returncode == 2
    assert "unknown command 'grade'" in out.stderr


def test_cli_openai_compatible_without_base_url_says_which_key(public_dir):
    out = run_cli("generate", "model=openai_compatible", "model.name=m", "model.api_key_env=K",
                  f"dataset.path={public_dir}")
    assert out.returncode == 2
    assert "model.base_url" in out.stderr


def test_cli_missing_api_key_fails_before_any_work(public_dir, tmp_path):
    run_dir = tmp_path / "run"
    out = run_cli("generate", "model=openai", f"dataset.path={public_dir}", f"run_dir={run_dir}",
                  env={"OPENAI_API_KEY": ""})
    assert out.returncode == 2
    assert "OPENAI_API_KEY" in out.stderr and "not set" in out.stderr
    assert not run_dir.exists()


def test_a_local_server_needs_no_key_but_a_remote_one_does():
    for model in ("vllm", "ollama"):
        cfg = make_config(f"model={model}")
        assert cfg.model.api_key_env is None
    for host in ("localhost", "127.0.0.1", "[::1]", "0.0.0.0"):
        make_config("model=openai_compatible", "model.name=m", f"model.base_url='http://{host}:8000/v1'",
                    "model.api_key_env=null")
    for url in ("https://api.example.com/v1", "http://localhost.example.com/v1", "http://10.0.0.5:8000/v1"):
        with pytest.raises(ConfigError, match="model.api_key_env"):
            make_config("model=openai_compatible", "model.name=m", f"model.base_url={url}",
                        "model.api_key_env=null")
    with pytest.raises(ConfigError, match="model.api_key_env"):
        make_config("model=vllm", "model.base_url=https://gpu.example.com/v1")


def test_a_served_checkpoint_must_be_named():
    with pytest.raises(ConfigError, match="model=vllm_serve needs model.checkpoint="):
        make_config("model=vllm_serve")
    cfg = make_config("model=vllm_serve", "model.checkpoint=org/ckpt")
    assert cfg.model.name == "org/ckpt" and cfg.model.base_url is None and cfg.model.api_key_env is None
