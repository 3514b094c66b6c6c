"""The built wheel carries what an installed ``geounlearn-trl`` needs: language packs, sample data and the metric."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Build from a copy: an in-tree build would leave build/ in the checkout.
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "outputs", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
    ))  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True, capture_output=True, cwd=out,
    )  # fmt: skip
    (built,) = out.glob("geounlearn_trl-*.whl")
    return built


def test_wheel_holds_metric_data_and_language_packs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in [
        "geounlearn_trl/metrics/stereotype_bias/stereotype_bias.py",
        "geounlearn_trl/metrics/stereotype_bias/README.md",
        "geounlearn_trl/data/languages/en.json",
        "geounlearn_trl/data/languages/hi.json",
        "geounlearn_trl/data/sample/sample_mcq_en.csv",
        "geounlearn_trl/data/sample/fictional_target.txt",
    ]:
        assert expected in names, expected


def test_installed_score_finds_and_loads_the_metric(wheel, tmp_path):
    # Unpacking a wheel is what installing it does to the files; run from a folder with no checkout in sight.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "from geounlearn_trl.evaluation.measurement import metric_path, load_metric\n"
        "path = metric_path()\n"
        f"assert path.startswith({str(site)!r}), path\n"
        "result = load_metric().compute(predictions=['A', 'unknown'], references=['A', 'B'],"
        " unknown_options=['unknown', 'unknown'])\n"
        "print(result['stereotype_rate'], result['unknown_rate'])\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    environment.pop("GEOUNLEARN_STEREOTYPE_BIAS_METRIC", None)
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=environment, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.split() == ["0.5", "0.5"]
