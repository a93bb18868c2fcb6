"""A gateway worker's upstream calls, alone in a process: `python -m tests.robustesse.processus_quotas
SIMULATEUR REDIS_URL NOM DEBUT APPELS JETON…`.

Each call goes through the real `Protection` (breaker, the shared Redis limiter, retries) to the
API Particulier simulator, with the token's and the egress IP's quotas, within a 60 s deadline (on
a loaded machine every call still fits: the test checks the windows, not the throughput). Between
the reservation and the request, a call may wait up to 1.5 s, as it does in a busy worker (event
loop, connection pool): the delay that let a burst of two tokens exceed the per-token quota
(issue 13). Prints one JSON line: the statuses the simulator answered.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from typing import Any

import httpx

from app.errors import UpstreamError, UpstreamRateLimited
from app.services.amont.breaker import CircuitBreaker
from app.services.amont.cache import RedisCache
from app.services.amont.deadline import echeance
from app.services.amont.protection import Protection
from app.services.amont.quotas import Portee, Quota, Quotas, RedisLimiter, sujet


async def rafale(
    simulateur: str, redis_url: str, nom: str, *, debut: float, appels: int, jetons: list[str]
) -> dict[str, Any]:
    # The gateway's own pool, with generous timeouts: the test is about the windows, not a loaded machine.
    redis = RedisCache.from_url(redis_url, timeout_seconds=5.0, pool_timeout_seconds=10.0).client
    statuts: Counter[str] = Counter()
    par_jeton, par_ip = Quota(f"{nom}.jeton", 20, 1.05), Quota(f"{nom}.ip", 1000, 60.05)
    protection = Protection(
        fournisseur="API Particulier",
        breaker=CircuitBreaker("API Particulier", seuil=1000),
        quotas=Quotas(RedisLimiter(redis)),
        budget_seconds=60.0,
    )
    async with httpx.AsyncClient(base_url=simulateur, timeout=10) as http:

        async def un_appel(jeton: str) -> None:
            async def appel() -> int:
                # Most calls leave at once, one in five waits up to 1.5 s (a busy loop, a full pool).
                retard = random.uniform(0.5, 1.5) if random.random() < 0.2 else random.uniform(0.0, 0.05)  # noqa: S311
                await asyncio.sleep(retard)
                reponse = await http.get(
                    "/v3/dss/quotient_familial/identite", headers={"Authorization": f"Bearer {jeton}"}
                )
                if reponse.status_code == 429:
                    raise UpstreamRateLimited(
                        "429", fournisseur="API Particulier", retry_after=int(reponse.headers["Retry-After"])
                    )
                return reponse.status_code

            portee = Portee(par_jeton, sujet(jeton))
            try:
                with echeance(60.0):
                    statuts[
                        str(
                            await protection.call(
                                "qf", (portee, Portee(par_ip, "sortie")), appel, portee_jeton=portee
                            )
                        )
                    ] += 1
            except UpstreamError as e:
                statuts[e.code] += 1

        await asyncio.sleep(max(0.0, debut - time.time()))
        await asyncio.gather(*(un_appel(jeton) for _ in range(appels) for jeton in jetons))
    await redis.aclose()
    return dict(statuts)


def main(argv: list[str]) -> int:
    simulateur, redis_url, nom, debut, appels, *jetons = argv
    print(
        json.dumps(
            asyncio.run(
                rafale(simulateur, redis_url, nom, debut=float(debut), appels=int(appels), jetons=jetons)
            )
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
