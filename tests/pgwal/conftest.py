"""Shared fixtures of the pgwal tests: where the WAL corpus is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def find_corpus() -> Path | None:
    """``$PGWAL_CORPUS`` if set and present, else ``../shared/pgwal-corpus`` beside the repo."""
    env = os.environ.get("PGWAL_CORPUS")
    if env and Path(env).is_dir():
        return Path(env)
    default = REPO_ROOT.parent / "shared" / "pgwal-corpus"
    return default if default.is_dir() else None


SKIP_REASON = "pgwal corpus not found: neither $PGWAL_CORPUS nor ../shared/pgwal-corpus exists"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The corpus folder; skips the test when it does not exist."""
    path = find_corpus()
    if path is None:
        pytest.skip(SKIP_REASON)
    return path
