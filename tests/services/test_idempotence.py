"""`Idempotency-Key` storage: one answer per (client, operation, key), replayed for the same body,
refused for another, computed once for concurrent duplicates, in memory and across workers (Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from app.errors import IdempotencyKeyReused, IdempotentRequestInProgress, JournalUnavailable
from app.keys import KeyRing
from app.services.idempotence import Idempotence

REDIS_URL = "redis://127.0.0.1:6379/15"
KEYRING = KeyRing(SecretStr("secret-de-test-idempotence"))


class Producteur:
    """Counts its calls; each answer is new (as a new decision would be)."""

    def __init__(self, attente: float = 0.0) -> None:
        self.appels = 0
        self.attente = attente

    async def __call__(self) -> bytes:
        self.appels += 1
        await asyncio.sleep(self.attente)
        return f'{{"id":"{uuid.uuid4()}"}}'.encode()


@pytest.fixture(params=["memoire", pytest.param("redis", marks=pytest.mark.integration)])
async def idempotence(request: pytest.FixtureRequest) -> AsyncIterator[Idempotence]:
    if request.param == "memoire":
        yield Idempotence(KEYRING)
        return
    redis = Redis.from_url(REDIS_URL)
    prefixe = f"eg:test:{uuid.uuid4().hex}"
    try:
        yield Idempotence(KEYRING, redis, prefixe=prefixe)
    finally:
        async for cle in redis.scan_iter(f"{prefixe}:*"):
            await redis.delete(cle)
        await redis.aclose()


async def _executer(
    idempotence: Idempotence,
    produire: Producteur,
    *,
    cle: str | None = "abc-123",
    corps: str = "{}",
    client: str = "c1",
) -> tuple[bytes, bool]:
    reponse = await idempotence.executer(
        client_id=client, operation="eligibilite", cle=cle, corps=corps, produire=produire
    )
    return reponse.contenu, reponse.rejouee


async def test_the_same_key_and_body_replays_the_stored_answer(idempotence: Idempotence) -> None:
    produire = Producteur()

    premiere, rejouee_1 = await _executer(idempotence, produire)
    seconde, rejouee_2 = await _executer(idempotence, produire)

    assert produire.appels == 1
    assert seconde == premiere
    assert (rejouee_1, rejouee_2) == (False, True)


async def test_the_same_key_with_another_body_is_refused(idempotence: Idempotence) -> None:
    produire = Producteur()
    await _executer(idempotence, produire, corps='{"a":1}')

    with pytest.raises(IdempotencyKeyReused) as refus:
        await _executer(idempotence, produire, corps='{"a":2}')

    assert refus.value.status == 422
    assert refus.value.code == "cle-idempotence-reutilisee"
    assert produire.appels == 1


async def test_keys_are_scoped_per_client_and_case_sensitive(idempotence: Idempotence) -> None:
    produire = Producteur()
    a, _ = await _executer(idempotence, produire, client="c1")
    b, rejouee_b = await _executer(idempotence, produire, client="c2", corps='{"autre":1}')
    c, rejouee_c = await _executer(idempotence, produire, cle="ABC-123")

    assert produire.appels == 3
    assert len({a, b, c}) == 3
    assert not rejouee_b
    assert not rejouee_c


async def test_without_a_key_nothing_is_stored(idempotence: Idempotence) -> None:
    produire = Producteur()
    await _executer(idempotence, produire, cle=None)
    await _executer(idempotence, produire, cle=None)

    assert produire.appels == 2


async def test_concurrent_duplicates_wait_for_the_first(idempotence: Idempotence) -> None:
    produire = Producteur(attente=0.2)

    resultats = await asyncio.gather(*(_executer(idempotence, produire) for _ in range(5)))

    assert produire.appels == 1
    assert len({contenu for contenu, _ in resultats}) == 1
    assert sorted(rejouee for _, rejouee in resultats) == [False, True, True, True, True]


async def test_a_failure_is_not_stored_and_the_key_runs_again(idempotence: Idempotence) -> None:
    async def echoue() -> bytes:
        raise JournalUnavailable("Le journal d'audit est indisponible.")

    with pytest.raises(JournalUnavailable):
        await idempotence.executer(
            client_id="c1", operation="eligibilite", cle="k", corps="{}", produire=echoue
        )
    produire = Producteur()
    _, rejouee = await _executer(idempotence, produire, cle="k")

    assert produire.appels == 1
    assert not rejouee


async def test_answers_expire_after_their_ttl() -> None:
    maintenant = [0.0]
    idempotence = Idempotence(KEYRING, ttl_seconds=24 * 3600, horloge=lambda: maintenant[0])
    produire = Producteur()
    await _executer(idempotence, produire)
    maintenant[0] = 24 * 3600 - 1
    await _executer(idempotence, produire)
    maintenant[0] = 24 * 3600 + 1
    await _executer(idempotence, produire)

    assert produire.appels == 2


async def test_the_stored_answer_is_encrypted_and_keyed_without_the_key_in_clear() -> None:
    idempotence = Idempotence(KEYRING)
    await _executer(idempotence, Producteur(), cle="cle-du-client-42", corps='{"nom":"MARTIN"}')

    ((stockage, (_, valeur)),) = idempotence._memoire.items()
    assert "cle-du-client-42" not in stockage
    assert b"MARTIN" not in valeur
    assert b'"id"' not in valeur


@pytest.mark.integration
async def test_two_workers_share_answers_and_the_first_one_runs_through_redis() -> None:
    redis = Redis.from_url(REDIS_URL)
    prefixe = f"eg:test:{uuid.uuid4().hex}"
    # Two Idempotence objects are two workers: no in-process lock joins them, only Redis.
    worker_a = Idempotence(KEYRING, redis, prefixe=prefixe, sondage_seconds=0.01)
    worker_b = Idempotence(KEYRING, redis, prefixe=prefixe, sondage_seconds=0.01)
    produire = Producteur(attente=0.2)
    try:
        (a, rejouee_a), (b, rejouee_b) = await asyncio.gather(
            _executer(worker_a, produire), _executer(worker_b, produire)
        )
        with pytest.raises(IdempotencyKeyReused):
            await _executer(worker_b, produire, corps='{"autre":1}')
    finally:
        async for cle in redis.scan_iter(f"{prefixe}:*"):
            await redis.delete(cle)
        await redis.aclose()

    assert produire.appels == 1
    assert a == b
    assert sorted([rejouee_a, rejouee_b]) == [False, True]


@pytest.mark.integration
async def test_a_duplicate_waits_no_longer_than_its_bound_then_gets_a_409() -> None:
    redis = Redis.from_url(REDIS_URL)
    prefixe = f"eg:test:{uuid.uuid4().hex}"
    lent = Idempotence(KEYRING, redis, prefixe=prefixe)
    presse = Idempotence(KEYRING, redis, prefixe=prefixe, attente_max_seconds=0.1, sondage_seconds=0.01)
    try:
        premier = asyncio.create_task(_executer(lent, Producteur(attente=0.5)))
        await asyncio.sleep(0.05)
        with pytest.raises(IdempotentRequestInProgress) as refus:
            await _executer(presse, Producteur())
        await premier
    finally:
        async for cle in redis.scan_iter(f"{prefixe}:*"):
            await redis.delete(cle)
        await redis.aclose()

    assert refus.value.status == 409
    assert refus.value.retry_after == 1
