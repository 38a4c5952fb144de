"""The Docker image of deploy/Dockerfile builds and runs the example collection (where docker
is installed; the test says so and skips elsewhere)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_context_leaves_out_build_output_and_node_modules():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in ("target/", ".venv/", "**/node_modules/"):
        assert entry in ignored


def test_the_image_is_built_with_the_dist_profile():
    assert "--profile dist" in (ROOT / "deploy" / "Dockerfile").read_text()


def test_the_image_builds_and_runs_the_example_collection():
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True, timeout=30).returncode != 0:
        pytest.skip("docker is not installed or not running: the image build is not tested here")
    tag = "wsrun-test:latest"
    build = subprocess.run(
        [docker, "build", "-f", "deploy/Dockerfile", "-t", tag, "."],
        cwd=ROOT, capture_output=True, text=True, timeout=3600,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    run = subprocess.run(
        [docker, "run", "--rm", "-v", f"{ROOT / 'collections'}:/c:ro", tag, "/c/websocket.yaml"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
