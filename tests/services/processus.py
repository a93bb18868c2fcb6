"""Worker processes for the cross-process tests: `python -m tests.services.processus <case> …`.

Each case prints one JSON line on stdout. They use the machine's Redis (db 15) and start at the
same wall-clock instant (`--debut`), so two processes really race.

- `limiteur URL NOM LIMITE ESSAIS`: ESSAIS reservations against LIMITE calls/minute; counts them.
- `coalescence URL CLE DEBUT COMPTEUR`: one coalesced "upstream call" (0.3 s, counted in COMPTEUR)
  shared through the encrypted cache; prints the value obtained.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from pydantic import SecretStr
from redis.asyncio import Redis

from app.keys import KeyRing
from app.services.amont.cache import RedisCache, SecureCache
from app.services.amont.coalescing import Coalescer
from app.services.amont.quotas import Portee, Quota, RedisLimiter

SECRET = SecretStr("un-secret-de-test-suffisamment-long-0123456789")


async def limiteur(url: str, nom: str, limite: int, essais: int) -> dict[str, Any]:
    redis = Redis.from_url(url)
    try:
        limiter = RedisLimiter(redis)
        portee = Portee(Quota(nom, limite, 60.0), "partage")
        accordes = refuses = 0
        for _ in range(essais):
            if (await limiter.reserver([portee])).attente_seconds == 0:
                accordes += 1
            else:
                refuses += 1
            await asyncio.sleep(0)
        return {"accordes": accordes, "refuses": refuses}
    finally:
        await redis.aclose()


async def coalescence(url: str, cle: str, debut: float, compteur: str) -> dict[str, Any]:
    backend = RedisCache.from_url(url)
    cache = SecureCache(backend, KeyRing(SECRET))
    coalescer = Coalescer(backend.client, attente_max_seconds=5)

    async def appel_amont() -> dict[str, Any]:
        await backend.client.incr(compteur)
        await asyncio.sleep(0.3)  # the upstream's latency: long enough for the other worker to arrive
        valeur = {"quotient_familial": 550}
        await cache.set_json(cle, valeur, 60)
        return valeur

    async def relire() -> dict[str, Any] | None:
        valeur: dict[str, Any] | None = await cache.get_json(cle)
        return valeur

    await asyncio.sleep(max(0.0, debut - time.time()))
    try:
        valeur = await coalescer.run(cle, appel_amont, relire=relire)
    finally:
        await backend.close()
    return {"valeur": valeur}


def main(argv: list[str]) -> int:
    case, *args = argv
    if case == "limiteur":
        result = asyncio.run(limiteur(args[0], args[1], int(args[2]), int(args[3])))
    elif case == "coalescence":
        result = asyncio.run(coalescence(args[0], args[1], float(args[2]), args[3]))
    else:
        raise SystemExit(f"cas inconnu : {case}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
