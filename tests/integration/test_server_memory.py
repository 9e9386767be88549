"""A serving application freezes what lives as long as it once its first request is done, so the
collector's full passes skip it (they paused large pages by about 90 ms every few requests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a Python process per test

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys
from assessment import create_app
for testing in (True, False):
    app = create_app({"INSTANCE_PATH": f"{sys.argv[1]}/{testing}", "TESTING": testing})
    client = app.test_client()
    before = gc.get_freeze_count()
    status = client.get("/login").status_code
    after_first = gc.get_freeze_count()
    client.get("/login")
    print(testing, status, after_first > before, gc.get_freeze_count() == after_first)
"""


def test_a_server_freezes_its_long_lived_objects_once_after_its_first_request(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "True 200 False True"  # tests build many applications: none is frozen
    assert out[1] == "False 200 True True"  # a server: frozen after the first request, and only then
