"""Go's standard library as an oracle (tests/gostdlib/main.go, built with Debian's Go,
which `make debs` installs): what regexp, strconv.Atoi and time.ParseDuration answer."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def go_stdlib(tmp_path_factory) -> Path:
    """The Go program, built once per module; a missing `go` is a failure, not a skip."""
    go = shutil.which("go")
    assert go, "no go on PATH: run `make debs`"
    work = tmp_path_factory.mktemp("go")
    env = {"HOME": str(work), "GOCACHE": str(work / "cache"), "GOPATH": str(work / "path"), "PATH": "/usr/bin:/bin"}
    subprocess.run([go, "build", "-o", str(work / "gostdlib"), str(REPO / "tests" / "gostdlib" / "main.go")],
                   check=True, env=env, cwd=work, timeout=300)
    return work / "gostdlib"


def ask(binary: Path, kind: str, questions: list[tuple[str, str]]) -> list[dict]:
    """Go's answer ({"error", "match", "number"}) to each (text, value) of `kind`."""
    lines = "".join(json.dumps({"kind": kind, "text": t, "value": v}) + "\n" for t, v in questions)
    out = subprocess.run([str(binary)], input=lines, capture_output=True, text=True, check=True, timeout=120)
    return [json.loads(line) for line in out.stdout.splitlines()]
