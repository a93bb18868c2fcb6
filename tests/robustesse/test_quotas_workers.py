"""Issue 13, point 4: several workers without Redis. Before: production, 2 workers, no REDIS_URL →
each worker metered the quotas alone, 40 calls/s on a 20/s token and 24 × 429. Now production
refuses to start; the sandbox splits every quota between the workers (and says so at start)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.config import Settings
from app.container import _part

ROOT = Path(__file__).resolve().parents[2]


def test_without_redis_each_worker_takes_its_share_of_a_quota() -> None:
    assert _part(Settings(_env_file=None, gateway_workers=2), 20) == 10
    assert _part(Settings(_env_file=None, gateway_workers=3), 50) == 16
    assert _part(Settings(_env_file=None, gateway_workers=64), 20) == 1
    assert _part(Settings(_env_file=None), 20) == 20
    assert _part(Settings(_env_file=None, gateway_workers=2, redis_url="redis://127.0.0.1:6379/15"), 20) == 20


def test_production_with_two_workers_and_no_redis_does_not_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "API_", "REDIS", "DATABASE"))}
    env |= {
        "GATEWAY_MODE": "production",
        "GATEWAY_SECRET_KEY": "x" * 40,
        "API_PARTICULIER_URL": "https://api-particulier.example.invalid",
        "CACHE_ENCRYPTION_KEYS": "cle",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'journal.db'}",
        "JOURNAL_SQLITE_EN_PRODUCTION": "true",
    }
    sortie = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--workers", "2", "--port", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert sortie.returncode != 0
    assert "2 processus sans REDIS_URL" in sortie.stderr
    assert not (tmp_path / "journal.db").exists()  # refused before touching anything
