"""Schemathesis hooks for `make fuzz`: what OpenAPI cannot say, said to the generator.

Each one is a rule the gateway documents (in the operation's description) but that JSON Schema
has no form for; the hook keeps schemathesis from sending a request that breaks it and expecting
it to be accepted. Nothing else is filtered.

- `Idempotency-Key` names one logical request: the same key with another body is refused by
  design (422 `cle-idempotence-reutilisee`); each well-formed key is replaced by a fresh one.
- `dispositifs` are the ids of the caller's règlement (GET /v1/reglement), which differ from one
  organisme to the next: generated strings are mapped onto the demo règlement's ids.
- `reglement` (simulations) is the YAML text of a règlement: generated text is dropped (the
  organisme's own règlement is then simulated; tests/routers/test_simulations.py covers YAML).
- `date_reference` before the règlement's dated parameters have a value is refused (422 naming
  `date_reference`): such dates are moved to the first day the demo règlement is fully in force.
- `annee_des_revenus` must be before the year of `date_reference`: it is lowered to that.
- A `numero_fiscal` has a check key (DGFiP's modulo 511): a generated one gets its right key.
- `du` after `au` is an empty period, refused with a 422 naming `du`: the two are swapped.
- A number the engine reads has at most 6 decimals (app/rules/nombres.py), which `multipleOf` on
  binary floats cannot say exactly: generated numbers in `faits` are rounded to 6 decimals.
- `declaratif` takes the facts the caller's règlement declares (GET /v1/reglement, `faits_declares`),
  which differ from one organisme to the next: facts the demo règlement does not declare are dropped.
- Impact (`POST /v1/simulations/impact`): `reglement` is replaced by the demo règlement's text,
  `parametres` by a value of one of its numeric parameters (names and types are the organisme's),
  and the period is brought within one year of 2026 (`IMPACT_PERIODE_JOURS_MAX`), `date_effet`
  within the years the gateway accepts.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis
from stdnum.fr import nif

from app.config import Settings
from app.dependencies import IDEMPOTENCY_KEY_PATTERN
from app.rules.facts import Origine
from app.rules.loader import charger_reglement

_CLE = re.compile(IDEMPOTENCY_KEY_PATTERN)
_SETTINGS = Settings(_env_file=None)
_REGLEMENT = charger_reglement(_SETTINGS.reglements_dir / _SETTINGS.demo_reglement_file)
_DISPOSITIFS = [d.id for d in _REGLEMENT.dispositifs]
_DECLARABLES = {n for n, d in _REGLEMENT.catalogue.faits.items() if d.origine is Origine.DECLARATIF}
#: The first day every dated parameter and barème of the demo règlement has a value.
_TEXTE_DEMO = (_SETTINGS.reglements_dir / _SETTINGS.demo_reglement_file).read_text(encoding="utf-8")
_PARAMETRES_NUMERIQUES = sorted(n for n, p in _REGLEMENT.parametres.items() if p.type == "nombre")
_EN_VIGUEUR_DEPUIS = max(
    [min(v.depuis for v in p.valeurs) for p in _REGLEMENT.parametres.values()]
    + [min(v.depuis for v in b.versions) for b in _REGLEMENT.baremes.values()]
).isoformat()


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """Every phase goes through here (the coverage phase skips the `map_*` hooks). Only values
    the schema accepts are changed, so a deliberately invalid request stays invalid."""
    entetes = case.headers or {}
    for nom in list(entetes):
        if nom.lower() == "idempotency-key" and isinstance(entetes[nom], str) and _CLE.match(entetes[nom]):
            entetes[nom] = str(uuid.uuid4())
    if isinstance(case.body, dict) and case.path == "/v1/simulations/impact":
        _impact(case.body)
    elif isinstance(case.body, dict):
        _corps(case.body)
    if isinstance(case.query, dict):
        _periode(case.query)


def _six_decimales(valeur: Any) -> Any:
    if isinstance(valeur, float) and abs(valeur) < 1e12:
        return round(valeur, 6)
    if isinstance(valeur, dict):
        return {k: _six_decimales(v) for k, v in valeur.items()}
    if isinstance(valeur, list):
        return [_six_decimales(v) for v in valeur]
    return valeur


def _corps(corps: dict[str, Any]) -> None:
    if isinstance(corps.get("faits"), dict):
        corps["faits"] = _six_decimales(corps["faits"])
    declaratif = corps.get("declaratif")
    if isinstance(declaratif, dict):
        corps["declaratif"] = {k: v for k, v in declaratif.items() if k in _DECLARABLES}
    dispositifs = corps.get("dispositifs")
    if isinstance(dispositifs, list) and dispositifs and all(isinstance(d, str) for d in dispositifs):
        corps["dispositifs"] = [_DISPOSITIFS[sum(d.encode()) % len(_DISPOSITIFS)] for d in dispositifs]
    date_reference = corps.get("date_reference")
    if isinstance(date_reference, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", date_reference):
        corps["date_reference"] = max(date_reference, _EN_VIGUEUR_DEPUIS)
    reglement = corps.get("reglement")
    if isinstance(reglement, str) and len(reglement) <= 500_000:
        corps["reglement"] = None
    demandeur = corps.get("demandeur")
    if not isinstance(demandeur, dict):
        return
    annee = demandeur.get("annee_des_revenus")
    if isinstance(annee, int) and isinstance(corps.get("date_reference"), str):
        # Before the reference date's year (the schema can only bound it by the current year).
        demandeur["annee_des_revenus"] = min(annee, int(corps["date_reference"][:4]) - 1)
    numero = demandeur.get("numero_fiscal")
    if isinstance(numero, str) and re.fullmatch(r"\s*([0-3] *([0-9] *){11}[0-9])\s*", numero):
        chiffres = re.sub(r"\D", "", numero)
        if not nif.is_valid(chiffres):
            # DGFiP's check key: the last three digits are the first ten modulo 511.
            demandeur["numero_fiscal"] = f"{chiffres[:10]}{int(chiffres[:10]) % 511:03d}"


def _impact(corps: dict[str, Any]) -> None:
    dispositifs = corps.get("dispositifs")
    if isinstance(dispositifs, list) and dispositifs and all(isinstance(d, str) for d in dispositifs):
        corps["dispositifs"] = [_DISPOSITIFS[sum(d.encode()) % len(_DISPOSITIFS)] for d in dispositifs]
    if isinstance(corps.get("reglement"), str):
        corps["reglement"] = _TEXTE_DEMO
    parametres = corps.get("parametres")
    if isinstance(parametres, dict) and parametres:
        nom = _PARAMETRES_NUMERIQUES[sum(str(sorted(parametres)).encode()) % len(_PARAMETRES_NUMERIQUES)]
        corps["parametres"] = {nom: 650}
    jours = [corps.get(n) for n in ("du", "au")]
    if all(isinstance(j, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", j) for j in jours):
        du, au = sorted(f"2026-{j[5:]}" for j in jours if isinstance(j, str))
        corps["du"], corps["au"] = du, au
    effet = corps.get("date_effet")
    if isinstance(effet, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", effet):
        corps["date_effet"] = f"2027-{effet[5:]}"


def _periode(requete: dict[str, Any]) -> None:
    du, au = requete.get("du"), requete.get("au")
    if isinstance(du, str) and isinstance(au, str) and du > au:
        requete["du"], requete["au"] = au, du
