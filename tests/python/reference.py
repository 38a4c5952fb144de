"""What the tests against reference servers share: the installed `wsrun` console script, a
server that prints its port when it is ready, and a CLI run of a collection against one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]


def wsrun_command() -> str:
    """The `wsrun` console script of this interpreter's environment (or on PATH)."""
    found = Path(sys.executable).parent / "wsrun"
    if found.exists():
        return str(found)
    which = shutil.which("wsrun")
    assert which, "the wsrun console script is not installed"
    return which


def missing_reference_server(message: str) -> None:
    """A reference server that only a system package manager installs is missing: under
    `CI=true` (where scripts/test installs it) that is a failure; anywhere else its tests are
    skipped, with `message` saying how to install it."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def port_printing_server(command: List[str], url: str) -> Iterator[str]:
    """Starts `command`, a server that prints its port on its first line, and yields `url`
    with `{port}` filled in; stops the server at the end."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit(), f"the server did not print its port (exit {proc.poll()})"
        yield url.format(port=port)
    finally:
        proc.terminate()
        proc.wait(10)


def run_cli(
    collection: Path, env: str, var: str, tmp_path: Path, *, validate: bool = True
) -> Tuple[str, Dict[str, Any]]:
    """Runs `wsrun COLLECTION --env ENV --var VAR` with a JSON report, which must pass; returns
    what it printed and the report (checked against the report's JSON Schema if `validate`)."""
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [wsrun_command(), str(collection), "--env", env, "--var", var, "--report", f"json={out}"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, NO_COLOR="1"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    document: Dict[str, Any] = json.loads(out.read_text())
    if validate:
        schema = json.loads((ROOT / "schema" / "wsrun-report.schema.json").read_text())
        jsonschema.validators.validator_for(schema)(schema).validate(document)
    return proc.stdout, document
