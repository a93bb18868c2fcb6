"""What replaying a decision reads (issue 17), written beside its whole record: the facts used and
each aid's journaled verdict, nothing of the sentences.

A replay (`POST /v1/simulations/impact`) needs of a decision only what it was decided on and what it
said: its facts (value and source of each) and, per aid, status, amount, tranche and motif codes.
The whole record adds the French explanations of every condition — ≈ 90 % of its ≈ 30 kB. This
compact copy (≈ 2 kB, each distinct source written once) is built from the very record being
journaled, in the same row, encrypted under the same key (`cle_journal`); a row written before it
existed is replayed from its whole record through the same function (`rejeu_de`), so both paths
read the same thing.

Format 2 (written since; `texte_rejeu`), four segments of JSON text joined by FS (U+001C) — JSON
text never holds a raw control character, so no segment does either:

    2 FS resultats FS faits FS indisponibles

- `resultats`: `[[dispositif, libelle, statut, montant, tranche, decisives], …]`, a period's
  decisions repeat the same few, which a replay reads once per distinct text (`resultats_de`);
- `faits`: the known facts grouped by source, each group the source's JSON text, US (U+001F), then
  its facts `[nom, valeur]` as JSON texts joined by RS (U+001E), the groups joined by GS (U+001D);
  `null` for a record without facts;
- `indisponibles`: `[[nom, code, raison, source], …]` (`null` without facts).

So a replay types facts without parsing them: a fact's text, under a source's text, is a key to the
typed fact built the first time it was seen (`app/services/impact/rejeu.py`, `LecteurFaits`). One
JSON parse per distinct fact instead of a parse of the whole copy and a conversion per fact.

Format 1 (written before, and still read: `copie_de_texte`), as JSON:

    {"format": 1,
     "sources": [<source as in the record>, …],
     "connus": [[nom, valeur, rang de la source | null], …],
     "indisponibles": [[nom, code, raison, rang de la source | null], …],
     "resultats": "[[dispositif, libelle, statut, montant, tranche, decisives], …]"}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from pydantic_core import from_json, to_json

from app.db.engine import dumps_json

#: The format `rejeu_de` describes (a dict), kept for format-1 copies.
FORMAT = 1
#: The format `texte_rejeu` writes.
FORMAT_TEXTE = "2"
#: Separators of format 2: segments (FS), groups of facts (GS), facts (RS), a group's source (US).
FS, GS, RS, US = "\x1c", "\x1d", "\x1e", "\x1f"


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


class CopieRejeu(NamedTuple):
    """A compact copy as a replay reads it (format 2's segments, as text: see the module's doc)."""

    resultats: str
    #: The known facts, grouped by source (`groupes`); None for a record without facts.
    faits: str | None
    #: JSON text of `[[nom, code, raison, source], …]`; None for a record without facts.
    indisponibles: str | None

    def groupes(self) -> Iterator[tuple[str, list[str]]]:
        """(source's JSON text, the facts' `[nom, valeur]` JSON texts) of each source."""
        if self.faits:
            for groupe in self.faits.split(GS):
                source, _, faits = groupe.partition(US)
                yield source, faits.split(RS)

    def noms_collectes(self) -> set[str]:
        """The names of the facts collected then, known or unavailable."""
        noms = {str(from_json(fait)[0]) for _, faits in self.groupes() for fait in faits}
        return noms | {str(i[0]) for i in from_json(self.indisponibles or "null") or ()}


def copie_de_texte(texte: str) -> CopieRejeu:
    """A compact copy from its stored text (in clear), format 2 or format 1 (JSON).
    `ValueError` for a text that is neither (what a sealed copy cannot be unless written so)."""
    if texte.startswith("{"):  # format 1
        return copie_de(from_json(texte))
    segments = texte.split(FS)
    if len(segments) != 4 or segments[0] != FORMAT_TEXTE:
        raise ValueError("copie de rejeu d'un format inconnu")
    _, resultats, faits, indisponibles = segments
    return CopieRejeu(
        resultats, None if faits == "null" else faits, None if indisponibles == "null" else indisponibles
    )


def copie_de(rejeu: Mapping[str, Any]) -> CopieRejeu:
    """`rejeu_de`'s form (format 1, or a whole record reduced) as a replay reads it."""
    return copie_de_texte(_texte(rejeu))


def resultats_de(rejeu: CopieRejeu) -> list[list[Any]]:
    """The journaled results of a compact copy, as `[dispositif, libelle, statut, montant, tranche,
    decisives]` lists."""
    resultats: list[list[Any]] = from_json(rejeu.resultats)
    return resultats


def texte_rejeu(contenu: Mapping[str, Any]) -> str | None:
    """`rejeu_de` as the text the journal stores (format 2);
    None for a record without facts (nothing to replay: its whole record says as much)."""
    if not isinstance(contenu.get("faits"), Mapping):
        return None
    return _texte(rejeu_de(contenu))


def _texte(rejeu: Mapping[str, Any]) -> str:
    """Format 2's text of `rejeu_de`'s form."""
    sources = rejeu["sources"]
    connus, indisponibles = rejeu.get("connus"), rejeu.get("indisponibles")
    if connus is None or indisponibles is None:
        faits = indisponibles_texte = "null"
    else:
        # Groups in the order their source first appears; facts in the record's order within.
        groupes: dict[int | None, list[str]] = {}
        for nom, valeur, rang in connus:
            groupes.setdefault(rang, []).append(_json([nom, valeur]))
        faits = GS.join(
            (_json(None if rang is None else sources[rang])) + US + RS.join(textes)
            for rang, textes in groupes.items()
        )
        indisponibles_texte = _json(
            [[n, code, raison, None if r is None else sources[r]] for n, code, raison, r in indisponibles]
        )
    return FS.join((FORMAT_TEXTE, rejeu["resultats"], faits, indisponibles_texte))


def _json(valeur: Any) -> str:
    # pydantic-core's encoder: ≈ 4× json.dumps here; exact decimals, dates and UUIDs as text, like
    # `dumps_json` (a record's own values are JSON-ready already).
    return to_json(valeur).decode()
