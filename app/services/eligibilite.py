"""The eligibility flow: which data the règlement needs → fetch → evaluate → journal → answer.

No decision leaves this service without its journal record: the record is written (consultation
and decision in one transaction) before the answer is returned, and a journal failure is a 503.

The decision is built once, as JSON-ready data shaped like the `Decision` schema, straight from the
evaluation's dataclasses: the journal stores it and the HTTP answer is its encoding, so the same
content is neither copied, validated nor converted twice on the hot path.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic_core import to_json

from app.db.engine import DocumentJson
from app.errors import FieldError, InvalidInput
from app.rules.derived import Catalogue
from app.rules.engine import DispositifInconnu, ParametreSansValeur, evaluer, verifier_applicable
from app.rules.explain import mention
from app.rules.facts import Fait, Faits, Origine, Source
from app.rules.model import Reglement
from app.rules.needs import besoins, scopes_requis
from app.rules.results import ConditionEvaluee, Evaluation, ParametreApplique, ResultatDispositif
from app.rules.serialization import faits_vers_dict
from app.rules.simulation import FaitsInvalides, lire_faits
from app.schemas.eligibilite import DemandeEligibilite, decimal_as_json_number, json_numbers
from app.services.amont.collecte import Collecte
from app.services.amont.donnees import faits_de_la_demande
from app.services.consultation import ServiceDeConsultation, trace_consultation
from app.services.journal import DecisionRecord
from app.services.organismes import Appelant

#: The civil date of a decision is the one of the town hall, not UTC's.
FUSEAU_CCAS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True, slots=True)
class DecisionRendue:
    """A journaled decision, ready to send: its id and its JSON encoding (the `Decision` schema)."""

    id: uuid.UUID
    json: bytes


#: The scope of `POST /v1/donnees`, which also opens the certified data in a decision's answer.
SCOPE_DONNEES = "donnees"


class EligibiliteService(ServiceDeConsultation):
    def verifier_demandeur(self, demande: DemandeEligibilite, appelant: Appelant) -> None:
        """What `evaluer` checks of one applicant before any upstream quota is spent (declared
        facts, identity, numéro fiscal, habilitation): `InvalidInput` naming each faulty field.
        A campaign checks each line with it before queueing any (issue 18)."""
        reglement = appelant.organisme.reglement
        _faits_declares(demande, reglement)
        self._collecte.verifier(
            demande.demandeur,
            appelant.organisme,
            besoins(reglement, demande.dispositifs).donnees,
            scopes_requis(reglement, demande.dispositifs),
        )

    async def evaluer(
        self,
        demande: DemandeEligibilite,
        appelant: Appelant,
        *,
        agent_id: str | None,
        decision_id: uuid.UUID | None = None,
    ) -> DecisionRendue:
        """`decision_id`: the id to journal the decision under (a campaign's line has a fixed one,
        so that a line whose decision is journaled is never decided again); a new one otherwise."""
        organisme = appelant.organisme
        reglement = organisme.reglement
        cree_le = self._now()
        date_reference = demande.date_reference or cree_le.astimezone(FUSEAU_CCAS).date()
        # Everything the request names is checked before any upstream quota is spent.
        try:
            verifier_applicable(reglement, date_reference, demande.dispositifs)
        except DispositifInconnu as e:
            raise InvalidInput.for_fields([FieldError("dispositifs", str(e))]) from None
        except ParametreSansValeur as e:
            raise InvalidInput.for_fields([FieldError("date_reference", str(e))]) from None
        declares = _faits_declares(demande, reglement)
        besoin = besoins(reglement, demande.dispositifs)

        # A decision that cannot be journaled is a 503: no upstream quota is spent on it.
        await self._journal.verifier_disponible()
        collecte = await self._collecte.collecter(
            demande.demandeur,
            organisme,
            besoin.donnees,
            scopes_requis(reglement, demande.dispositifs),
            # As of the reference date: that month's QF, that date's income year (issue 12).
            date_reference=demande.date_reference,
        )
        faits = Faits(
            connus={
                **collecte.faits,
                **faits_de_la_demande(demande.demandeur),
                **declares,
            },
            indisponibles=collecte.indisponibles,
        )
        evaluation = evaluer(reglement, faits, date_reference, demande.dispositifs)
        decision_id = decision_id or uuid.uuid4()
        decision = decision_json(
            evaluation,
            decision_id=decision_id,
            cree_le=cree_le,
            dossier_ref=demande.dossier_ref,
            collecte=collecte,
            mention_texte=mention(reglement, organisme.nom),
        )
        consultation = trace_consultation(
            collecte,
            appelant=appelant,
            demandeur=demande.demandeur,
            keyring=self._keyring,
            type_consultation="eligibilite",
            agent_id=agent_id,
            dossier_ref=demande.dossier_ref,
            cree_le=cree_le,
        )
        # Encoded once: the HTTP answer adds the certified data for pre-filling, the journal the
        # facts used instead. `decision` is never empty, so its encoding ends with `}` after a value.
        commun = to_json(decision)[:-1]
        faits_json = faits_vers_dict(faits)
        contenu = DocumentJson(
            {**decision, "faits": faits_json},
            (commun + b',"faits":' + to_json(faits_json) + b"}").decode(),
        )
        record = DecisionRecord(
            id=decision_id,
            consultation_id=consultation.id,
            organisme_id=organisme.id,
            cree_le=cree_le,
            date_reference=date_reference,
            dossier_ref=demande.dossier_ref,
            reglement_id=evaluation.reglement.id,
            reglement_version=evaluation.reglement.version,
            reglement_empreinte=evaluation.reglement.empreinte,
            contenu=contenu,
        )
        await self._journal.enregistrer(consultation, record)
        # The certified data themselves (names, birth dates, addresses, RFR…) only for a client
        # holding the `donnees` scope; the others get the decision, whose conditions quote the facts
        # it needed (issue 13: an eligibility-only client received everything `donnees` gates).
        donnees = (
            json_numbers(collecte.donnees)
            if collecte.donnees and SCOPE_DONNEES in appelant.client.scopes
            else None
        )
        return DecisionRendue(decision_id, commun + b',"donnees":' + to_json(donnees) + b"}")


def _faits_declares(demande: DemandeEligibilite, reglement: Reglement) -> dict[str, Fait]:
    """The declared facts, the règlement's own checked against its declarations (422 naming each)."""
    source = Source(fournisseur="declaratif", certifie=False)
    if demande.declaratif is None:  # `null` means absent
        return {}
    faits = {nom: Fait(valeur=valeur, source=source) for nom, valeur in demande.declaratif.faits().items()}
    autres = demande.declaratif.autres()
    if not autres:
        return faits
    catalogue = reglement.catalogue
    erreurs = [
        FieldError(f"declaratif.{nom}", _non_declarable(nom, catalogue))
        for nom in autres
        if nom not in catalogue.faits or catalogue.faits[nom].origine is not Origine.DECLARATIF
    ]
    if not erreurs:
        try:
            lus = lire_faits(autres, fournisseur="declaratif", catalogue=catalogue)
        except FaitsInvalides as e:
            erreurs = [
                FieldError(f"declaratif.{champ}", _attendu(champ, message, catalogue))
                for champ, message in e.erreurs
            ]
        else:
            faits.update({nom: Fait(f.valeur, source) for nom, f in lus.connus.items()})
    if erreurs:
        raise InvalidInput.for_fields(erreurs)
    return faits


def _non_declarable(nom: str, catalogue: Catalogue) -> str:
    declarables = sorted(n for n, d in catalogue.faits.items() if d.origine is Origine.DECLARATIF)
    return f"fait non déclaré par le règlement (faits déclarables : {', '.join(declarables)})"


def _attendu(nom: str, message: str, catalogue: Catalogue) -> str:
    """The error, with what the règlement expects: « ressources_mensuelles (nombre en €, de 0 à …) »."""
    definition = catalogue.faits.get(nom)
    if definition is None:
        return message
    attendu = {
        "nombre": "un nombre",
        "entier": "un nombre entier",
        "booleen": "vrai ou faux",
        "date": "une date AAAA-MM-JJ",
        "texte": "un texte",
    }.get(definition.type.value, definition.type.value)
    if definition.valeurs_admises:
        attendu = "l'une des valeurs " + ", ".join(definition.valeurs_admises)
    if definition.unite:
        attendu += f" en {definition.unite}"
    return f"{message} ({definition.libelle} : {attendu} attendu)"


def decision_json(
    evaluation: Evaluation,
    *,
    decision_id: uuid.UUID,
    cree_le: datetime,
    dossier_ref: str | None,
    collecte: Collecte,
    mention_texte: str,
) -> dict[str, Any]:
    """The decision as `Decision.model_dump(mode="json", exclude={"donnees"})` would give it, built
    in one pass from the evaluation (tests/services/test_eligibilite.py holds the two together)."""
    reglement = evaluation.reglement
    return {
        "id": str(decision_id),
        "cree_le": _instant(cree_le),
        "date_reference": evaluation.date_reference.isoformat(),
        "dossier_ref": dossier_ref,
        "reglement": {"id": reglement.id, "version": reglement.version, "empreinte": reglement.empreinte},
        "resultats": [_resultat(r) for r in evaluation.resultats],
        "parametres_appliques": [_parametre(p) for p in evaluation.parametres_appliques],
        "donnees_indisponibles": [
            {"donnee": d.donnee, "code": d.code, "raison": d.raison} for d in collecte.donnees_indisponibles
        ],
        "mention": mention_texte,
    }


def _resultat(r: ResultatDispositif) -> dict[str, Any]:
    return {
        "dispositif": r.dispositif,
        "libelle": r.libelle,
        "statut": r.statut.value,
        "montant": None if r.montant is None else decimal_as_json_number(r.montant),
        "tranche": r.tranche,
        "motif": r.motif,
        "conditions": [_condition(c) for c in r.conditions],
        "pieces_justificatives": list(r.pieces_justificatives),
        "base_legale": r.base_legale,
        "deliberation": r.deliberation,
        "decisives": list(r.decisives),
    }


def _condition(c: ConditionEvaluee) -> dict[str, Any]:
    return {
        "critere": c.critere,
        "operateur": c.operateur,
        "seuil": _valeur(c.seuil),
        "valeur": _valeur(c.valeur),
        "satisfaite": c.satisfaite,
        "ecart": None if c.ecart is None else decimal_as_json_number(c.ecart),
        "source": None if c.source is None else _source(c.source),
        "deliberation": c.deliberation,
        "parametre": c.parametre,
        "explication": c.explication,
        "piece_justificative": c.piece_justificative,
        "code": c.code,
    }


def _source(source: Source) -> dict[str, Any]:
    # `SourceOut`'s fields, in its order.
    return {
        "fournisseur": source.fournisseur,
        "certifie": source.certifie,
        "periode": source.periode,
        "obtenu_le": None if source.obtenu_le is None else _instant(source.obtenu_le),
        "depuis_cache": source.depuis_cache,
        "request_id": source.request_id,
        "perime": source.perime,
    }


def _parametre(p: ParametreApplique) -> dict[str, Any]:
    return {
        "nom": p.nom,
        "valeur": _valeur(p.valeur),
        "depuis": p.depuis.isoformat(),
        "deliberation": p.deliberation,
    }


def _valeur(valeur: object) -> Any:
    """A shown value as JSON: exact decimals as numbers, tuples of texts as lists."""
    if isinstance(valeur, Decimal):
        return decimal_as_json_number(valeur)
    if isinstance(valeur, tuple):
        return list(valeur)
    return valeur


def _instant(value: datetime) -> str:
    """ISO 8601 as pydantic writes it: UTC as `Z`, other offsets as `+hh:mm`."""
    texte = value.isoformat()
    return texte[:-6] + "Z" if texte.endswith("+00:00") else texte
