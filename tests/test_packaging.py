"""A non-editable install carries the presets, the config, the vocabulary and the weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_install_runs_from_anywhere(tmp_path):
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", str(ROOT), "-w", str(wheel_dir)],
                   check=True, cwd=tmp_path)
    wheel = next(wheel_dir.glob("*.whl"))
    subprocess.run(pip + ["install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import robustbench_ft, sys; from robustbench_ft.cli import main; "
            "assert robustbench_ft.__file__.startswith(sys.argv[1]), robustbench_ft.__file__; "
            "from robustbench_ft.models.loading import load_clip; load_clip('tiny-clip', 'embedded'); "
            "sys.exit(main(['list']))")
    out = subprocess.run([sys.executable, "-c", code, str(target)], env=env, cwd=tmp_path,
                         check=True, capture_output=True, text=True).stdout
    assert "lipsum" in out and "embedded" in out
