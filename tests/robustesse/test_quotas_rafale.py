"""Issue 13, point 4: two organismes (two API Particulier tokens) burst together, 10× the per-token
quota, from two worker processes sharing the real Redis limiter, against the simulator in its own
process, counting per token and per clock second as API Particulier does.

Before the fix (a call counted from its reservation only), calls delayed between reservation and
arrival landed in the provider's next second with that second's own: up to 26 calls in a second on
a 20/s token and 14 × 429 (bench/bench_quotas.py, real gateway, 2 workers); this test saw the same.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/15"
QUOTA_PAR_JETON = 20

pytestmark = pytest.mark.integration


def _port_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def simulateur() -> Iterator[str]:
    port = _port_libre()
    processus = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "app.simulators.api_particulier", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        fin = time.monotonic() + 30
        while time.monotonic() < fin:
            try:
                httpx.get(url + "/__simulateur/compteurs", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        processus.terminate()
        processus.wait(timeout=10)


async def test_two_tokens_bursting_from_two_processes_never_exceed_a_token_quota(simulateur: str) -> None:
    nom = f"test-rafale-{secrets.token_hex(4)}"
    jetons = [f"jeton-a-{secrets.token_hex(4)}", f"jeton-b-{secrets.token_hex(4)}"]
    debut = time.time() + 3.0
    # 10× the quota per token, split over the two processes.
    commande = [sys.executable, "-m", "tests.robustesse.processus_quotas", simulateur, REDIS_URL, nom]
    commande += [str(debut), str(10 * QUOTA_PAR_JETON // 2), *jetons]
    try:
        processus = [
            await asyncio.create_subprocess_exec(*commande, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
            for _ in range(2)
        ]
        # The last line: the workers log on stdout too.
        sorties = [json.loads((await p.communicate())[0].splitlines()[-1]) for p in processus]
    finally:
        redis = Redis.from_url(REDIS_URL)
        cles = [k async for k in redis.scan_iter(match=f"eg-quota:v1:{nom}*")]
        if cles:
            await redis.delete(*cles)
        await redis.aclose()

    async with httpx.AsyncClient() as http:
        compteurs = (await http.get(simulateur + "/__simulateur/compteurs")).json()
    par_jeton = compteurs["par_jeton"]
    assert len(par_jeton) == 2
    # Every call was made (none refused for want of time) and reached the provider.
    assert sum(sum(s.values()) for s in sorties) == 2 * 10 * QUOTA_PAR_JETON
    assert compteurs["total"] == 2 * 10 * QUOTA_PAR_JETON, (sorties, compteurs)
    assert [j["reponses_429"] for j in par_jeton.values()] == [0, 0]
    assert max(j["max_par_seconde"] for j in par_jeton.values()) <= QUOTA_PAR_JETON
