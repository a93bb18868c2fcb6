"""What replaying a decision reads (issue 17), written beside its whole record: the facts used and
each aid's journaled verdict, nothing of the sentences.

A replay (`POST /v1/simulations/impact`) needs of a decision only what it was decided on and what it
said: its facts (value and source of each) and, per aid, status, amount, tranche and motif codes.
The whole record adds the French explanations of every condition — ≈ 90 % of its ≈ 30 kB. This
compact copy (≈ 2 kB, each distinct source written once) is built from the very record being
journaled, in the same row, encrypted under the same key (`cle_journal`); a row written before it
existed is replayed from its whole record through the same function (`rejeu_de`), so both paths
read the same thing.

Format 1, as JSON (lists rather than objects: smaller, quicker to parse):

    {"format": 1,
     "sources": [<source as in the record>, …],
     "connus": [[nom, valeur, rang de la source | null], …],
     "indisponibles": [[nom, code, raison, rang de la source | null], …],
     "resultats": "[[dispositif, libelle, statut, montant, tranche, decisives], …]"}

`resultats` is a JSON text inside the JSON: a period's decisions repeat the same few combinations of
results, which a replay then reads once per distinct text (`resultats_de`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import from_json, to_json

from app.db.engine import dumps_json

FORMAT = 1


def rejeu_de(contenu: Mapping[str, Any]) -> dict[str, Any]:
    """The compact copy of a decision's record. A record without its facts gives `connus` and
    `indisponibles` None (its replay says so: it cannot be re-evaluated)."""
    faits = contenu.get("faits")
    sources: list[Any] = []
    rangs: dict[Any, int] = {}

    def rang(source: Any) -> int | None:
        if source is None:
            return None
        try:
            cle: Any = tuple(source.items())
            hash(cle)
        except (AttributeError, TypeError):
            cle = dumps_json(source)
        numero = rangs.get(cle)
        if numero is None:
            numero = rangs[cle] = len(sources)
            sources.append(source)
        return numero

    connus: list[Any] | None = None
    indisponibles: list[Any] | None = None
    if isinstance(faits, Mapping):
        connus = [
            [nom, fait.get("valeur"), rang(fait.get("source"))]
            for nom, fait in (faits.get("connus") or {}).items()
            if isinstance(fait, Mapping)
        ]
        indisponibles = [
            [nom, i.get("code"), i.get("raison"), rang(i.get("source"))]
            for nom, i in (faits.get("indisponibles") or {}).items()
            if isinstance(i, Mapping)
        ]
    resultats = [
        [
            r.get("dispositif"),
            r.get("libelle"),
            r.get("statut"),
            r.get("montant"),
            r.get("tranche"),
            r.get("decisives"),
        ]
        for r in contenu.get("resultats", ())
        if isinstance(r, Mapping)
    ]
    return {
        "format": FORMAT,
        "sources": sources,
        "connus": connus,
        "indisponibles": indisponibles,
        "resultats": _json(resultats),
    }


def resultats_de(rejeu: Mapping[str, Any]) -> list[list[Any]]:
    """The journaled results of a compact copy, as `[dispositif, libelle, statut, montant, tranche,
    decisives]` lists."""
    resultats: list[list[Any]] = from_json(rejeu["resultats"])
    return resultats


def texte_rejeu(contenu: Mapping[str, Any]) -> str | None:
    """`rejeu_de` as the JSON text the journal stores;
    None for a record without facts (nothing to replay: its whole record says as much)."""
    if not isinstance(contenu.get("faits"), Mapping):
        return None
    return _json(rejeu_de(contenu))


def _json(valeur: Any) -> str:
    # pydantic-core's encoder: ≈ 4× json.dumps here; exact decimals, dates and UUIDs as text, like
    # `dumps_json` (a record's own values are JSON-ready already).
    return to_json(valeur).decode()
