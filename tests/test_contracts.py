"""Contracts: buf lint (STANDARD) and buf breaking against the last landed version.

The google/api and google/rpc protos come from the installed
googleapis-common-protos package (copied to build/googleapis by `make gen`),
so everything runs offline.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUF = str(Path(sys.executable).parent / "buf")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def baseline_ref() -> str | None:
    """main; or, when the tree is main itself (CI), the commit before it."""
    try:
        main = git("rev-parse", "--verify", "main")
        head = git("rev-parse", "HEAD")
    except subprocess.CalledProcessError:
        return None
    dirty = bool(git("status", "--porcelain", "--", "protos"))
    if main != head or dirty:
        return main
    try:
        return git("rev-parse", "--verify", "HEAD~1")
    except subprocess.CalledProcessError:
        return None


def test_buf_lint() -> None:
    result = subprocess.run([BUF, "lint"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_buf_breaking_against_last_landed_contracts(tmp_path: Path) -> None:
    ref = baseline_ref()
    if ref is None or not git("ls-tree", "-r", "--name-only", ref, "--", "protos"):
        pytest.skip("no earlier version of the contracts to compare with")
    archive = subprocess.run(["git", "archive", ref, "protos"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=archive.stdout, check=True)
    shutil.copytree(ROOT / "build" / "googleapis", tmp_path / "build" / "googleapis")
    shutil.copyfile(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    result = subprocess.run([BUF, "breaking", "--against", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"breaking change against {ref[:10]}:\n{result.stdout}{result.stderr}"
