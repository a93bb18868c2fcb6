"""The app factory's lifespan: what it does to the process while serving, and undoes at shutdown."""

from __future__ import annotations

import gc
from pathlib import Path

from asgi_lifespan import LifespanManager

from app.main import GC_SEUIL_JEUNES, create_app
from tests.conftest import gateway_settings


async def test_serving_freezes_start_up_objects_and_shutdown_undoes_it(tmp_path: Path) -> None:
    seuils = gc.get_threshold()
    gc.unfreeze()
    app = create_app(gateway_settings(tmp_path, gc_tuning=True))

    async with LifespanManager(app, startup_timeout=30):
        # Everything built at start-up (the app, its règlements, its pools) is out of the scans.
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold()[0] == GC_SEUIL_JEUNES

    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == seuils


async def test_gc_tuning_off_leaves_the_collector_alone(tmp_path: Path) -> None:
    seuils = gc.get_threshold()
    app = create_app(gateway_settings(tmp_path, gc_tuning=False))

    async with LifespanManager(app, startup_timeout=30):
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == seuils
