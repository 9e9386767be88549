"""Fixtures of the application: a fresh instance folder per test."""

from __future__ import annotations

import pytest

from assessment import create_app


@pytest.fixture
def app(tmp_path):
    """An application whose instance folder is a fresh temporary directory."""
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test"})


@pytest.fixture
def client(app):
    """A test client of `app`."""
    return app.test_client()
