"""The campaign file read as it streams: lines cut across chunks, bounds, CSV dialects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import PayloadTooLarge
from app.services.campagnes.fichier import FichierInvalide, LecteurCampagne, lignes_brutes

FICHIER = (
    "\ufeffdossier_ref;nom_naissance;prenoms;sexe;code_cog_insee_pays_naissance;commune_residence\r\n"
    "D-1;MARTIN;AXELLE;F;99134;35238\r\n"
    "\r\n"
    "D-2;DUPONT;JEAN PIERRE;M;99134;\r\n"
).encode()


async def _morceaux(donnees: bytes, coupures: list[int]) -> AsyncIterator[bytes]:
    debut = 0
    for fin in sorted(set(coupures)):
        yield donnees[debut:fin]
        debut = fin
    yield donnees[debut:]


async def _lire(donnees: bytes, coupures: list[int], *, ligne_max: int = 4096) -> list[tuple[int, object]]:
    lecteur = LecteurCampagne("csv", dispositifs=None, date_reference=None, ligne_max_bytes=ligne_max)
    brutes = lignes_brutes(_morceaux(donnees, coupures), ligne_max_bytes=ligne_max, fichier_max_bytes=10**6)
    return [
        (ligne.numero, ligne.demande.demandeur.prenoms if ligne.demande else ligne.erreurs)
        async for ligne in lecteur.lire(brutes)
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(FICHIER)), max_size=12))
def test_how_the_file_is_cut_into_chunks_changes_nothing(coupures: list[int]) -> None:
    lues = asyncio.run(_lire(FICHIER, coupures))

    assert lues == [(2, ["AXELLE"]), (4, ["JEAN", "PIERRE"])]


async def test_a_too_long_line_is_refused_alone_and_never_kept() -> None:
    donnees = FICHIER + b"D-3;" + b"X" * 10_000 + b"\nD-4;MARTIN;AXELLE;F;99134;35238\n"

    lues = await _lire(donnees, [100, 5000], ligne_max=256)

    assert [n for n, _ in lues] == [2, 4, 5, 6]
    assert str(lues[2][1]).count("ligne de plus de 256 octets") == 1


async def test_a_file_beyond_its_bound_stops_while_streaming() -> None:
    async def sans_fin() -> AsyncIterator[bytes]:
        while True:
            yield b"D-1;MARTIN;AXELLE;F;99100;35238\n"

    with pytest.raises(PayloadTooLarge):
        async for _ in lignes_brutes(sans_fin(), ligne_max_bytes=256, fichier_max_bytes=10_000):
            pass


async def test_a_header_without_the_required_columns_names_them() -> None:
    with pytest.raises(FichierInvalide) as erreur:
        await _lire(b"nom_naissance,sexe\nMARTIN,F\n", [])

    assert "dossier_ref" in str(erreur.value)
    assert "prenoms" in str(erreur.value)
