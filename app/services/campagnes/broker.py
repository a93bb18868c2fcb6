"""The task queue of campaigns, on taskiq: a Redis stream with acknowledgements when Redis is
configured (any number of `eg worker` processes, on any machine sharing Redis and PostgreSQL), the
in-process broker otherwise (the embedded default decides campaigns inside the gateway).

A message names a campaign and a lot of line numbers, nothing else: the requests themselves stay
encrypted in the database until their line is done. A message is acknowledged only once the task
returned, that is once every line of its lot is recorded; a worker killed before that leaves its
messages pending, and another worker claims them after `reprise_seconds` (XAUTOCLAIM).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, cast

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from taskiq import AckableMessage, AsyncBroker, InMemoryBroker
from taskiq_redis import RedisStreamBroker

logger = structlog.get_logger(__name__)

NOM_TACHE = "campagnes.traiter_lot"
#: The stream and its consumer group (outside the cache's `eg:v1:` space).
FLUX = "eg-campagnes:v1:lots"
GROUPE = "eg-workers"

#: Runs one lot: (campagne_id, line numbers).
TraiterLot = Callable[[str, list[int]], Awaitable[None]]


class FluxRedis(RedisStreamBroker):
    """taskiq-redis' stream broker, with two changes a campaign needs:

    - pending messages of a dead worker are claimed on every turn of the loop, not only after new
      messages arrived (else the last lots of a campaign wait for a next campaign);
    - an acknowledged message is also deleted from the stream, which stays as long as the backlog.
    """

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        async with Redis(connection_pool=self.connection_pool) as redis:
            while True:
                fetched: Any = await redis.xreadgroup(
                    self.consumer_group_name,
                    self.consumer_name,
                    {self.queue_name: ">"},
                    block=self.block,
                    noack=False,
                    count=self.count,
                )
                for _stream, messages in fetched or []:
                    for message_id, message in messages:
                        yield AckableMessage(data=message[b"data"], ack=self._acquitter(message_id))
                reclame: Any = await redis.xautoclaim(
                    self.queue_name,
                    self.consumer_group_name,
                    self.consumer_name,
                    min_idle_time=self.idle_timeout,
                    count=self.unacknowledged_batch_size,
                )
                for message_id, message in reclame[1]:
                    if message:  # an entry deleted meanwhile comes back empty
                        logger.info("campagnes.lot_reclaimed")
                        yield AckableMessage(data=message[b"data"], ack=self._acquitter(message_id))

    def _acquitter(self, message_id: Any) -> Callable[[], Awaitable[None]]:
        async def acquitter() -> None:
            async with (
                Redis(connection_pool=self.connection_pool) as redis,
                redis.pipeline(transaction=True) as pipe,
            ):
                pipe.xack(self.queue_name, self.consumer_group_name, message_id)
                pipe.xdel(self.queue_name, message_id)
                await pipe.execute()

        return acquitter


def broker_redis(redis_url: str, *, reprise_seconds: float, prefetch: int, flux: str = FLUX) -> FluxRedis:
    return FluxRedis(
        redis_url,
        queue_name=flux,
        consumer_group_name=GROUPE,
        consumer_name=f"worker-{uuid.uuid4().hex[:12]}",
        # "0": the group reads the stream from its start, so lots sent before the first worker
        # started are not skipped.
        consumer_id="0",
        idle_timeout=int(reprise_seconds * 1000),
        xread_block=1000,
        xread_count=prefetch,
        socket_timeout=5,
        socket_connect_timeout=2,
    )


class FileCampagnes:
    """Sends lots to the workers; `demarrer` makes this process one of them (`eg worker`, or the
    gateway itself with the in-process broker)."""

    def __init__(self, broker: AsyncBroker, *, redis_url: str | None) -> None:
        self.broker = broker
        self._redis_url = redis_url
        #: The registered task (taskiq's decorated task: `kiq` sends a message).
        self._tache: Any = None
        self._demarre = False
        #: The lots this process is deciding with the in-process broker (taskiq's own shutdown
        #: leaves them running, past the database engine's disposal).
        self._lots_en_cours: set[asyncio.Task[Any]] = set()

    @property
    def embarquee(self) -> bool:
        """True for the in-process broker: the lots are decided by this process."""
        return isinstance(self.broker, InMemoryBroker)

    def inscrire(self, traiter: TraiterLot) -> None:
        """The function that decides one lot (the workers'); senders register it too, by name."""

        async def traiter_lot(campagne_id: str, numeros: list[int]) -> None:
            tache = asyncio.current_task() if self.embarquee else None
            if tache is None:
                await traiter(campagne_id, numeros)
                return
            self._lots_en_cours.add(tache)
            try:
                await traiter(campagne_id, numeros)
            finally:
                self._lots_en_cours.discard(tache)

        self._tache = self.broker.register_task(cast(Any, traiter_lot), task_name=NOM_TACHE)

    async def demarrer(self) -> bool:
        """Connect (declare the consumer group). False when Redis does not answer: the gateway
        runs on, campaigns are refused (503) and `/readyz` says so until it answers."""
        try:
            async with asyncio.timeout(3):
                await self.broker.startup()
        except (RedisError, OSError, TimeoutError) as e:
            logger.warning("campagnes.queue_unreachable", error_type=type(e).__name__)
            return False
        self._demarre = True
        return True

    async def arreter(self) -> None:
        """Stop deciding: lots in progress in this process are cancelled (their lines are queued
        again at the next start, a line taken again reads the journal first: none is decided
        twice), then the broker shuts down."""
        lots = list(self._lots_en_cours)
        for lot in lots:
            lot.cancel()
        await asyncio.gather(*lots, return_exceptions=True)
        try:
            await self.broker.shutdown()
        except (RedisError, OSError, TimeoutError) as e:
            logger.info("campagnes.queue_shutdown_failed", error_type=type(e).__name__)

    async def envoyer(self, campagne_id: uuid.UUID, numeros: list[int]) -> None:
        if self._tache is None:
            raise RuntimeError("FileCampagnes.inscrire n'a pas été appelé")
        if not self._demarre:
            # Redis was down at start: try again now (declaring the group is idempotent).
            await self.demarrer()
        await self._tache.kiq(str(campagne_id), numeros)

    async def flux_vide(self) -> bool:
        """True when the stream holds no lot at all (none waiting, none unacknowledged): after a
        Redis restarted without persistence, the lines left in the database must be queued again.
        Only one worker a minute answers True (a lock), so they are queued once."""
        if self._redis_url is None:
            return False
        nom = getattr(self.broker, "queue_name", FLUX)
        async with Redis.from_url(self._redis_url, socket_connect_timeout=2, socket_timeout=2) as redis:
            if await redis.xlen(nom) > 0:
                return False
            return bool(await redis.set(nom + ":relance", "1", nx=True, ex=60))

    async def ping(self) -> bool:
        if self._redis_url is None:
            return True
        try:
            async with Redis.from_url(self._redis_url, socket_connect_timeout=1, socket_timeout=1) as redis:
                return bool(await redis.ping())
        except (RedisError, OSError, TimeoutError):
            return False
