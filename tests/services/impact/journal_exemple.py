"""Past decisions of the demo règlement, written to the journal as the eligibility flow writes them
(the same record: `decision_json` plus the facts used, encrypted with the journal's key ring)."""

from __future__ import annotations

import base64
import json
import os
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from pydantic_core import to_json
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import PROJECT_ROOT
from app.db.tables import DecisionRow
from app.keys import derive_key
from app.rules.engine import evaluer
from app.rules.facts import Faits
from app.rules.loader import charger_reglement
from app.rules.model import Reglement
from app.rules.serialization import faits_vers_dict
from app.rules.simulation import lire_faits
from app.services.amont.collecte import Collecte
from app.services.eligibilite import FUSEAU_CCAS, decision_json
from app.services.journal import ConsultationRecord, DecisionRecord, Journal
from app.services.journal.chiffrement import (
    CLE_DERIVEE,
    PURPOSE_JOURNAL,
    PURPOSE_SCELLE,
    TrousseauJournal,
    contenu_clair,
)
from app.services.journal.rejeu import rejeu_de, texte_rejeu
from app.services.organismes import Organisme

FICHIER_DEMO = PROJECT_ROOT / "reglements" / "demo.yaml"
REGLEMENT_DEMO = charger_reglement(FICHIER_DEMO)
SECRET = "secret-de-test-" + "x" * 32
TROUSSEAU = TrousseauJournal.depuis_reglages(None, SecretStr(SECRET))
#: TROUSSEAU's one key (`derivee-1`), as a Fernet key.
CLE_FERNET = base64.urlsafe_b64encode(derive_key(SECRET.encode(), PURPOSE_JOURNAL))
COMMUNES = ("08480", "08105", "08409", "51108")


def organisme(organisme_id: str, reglement: Reglement = REGLEMENT_DEMO) -> Organisme:
    return Organisme(
        id=organisme_id,
        nom="CCAS de test",
        siret="26999000800006",
        reglement=reglement,
        api_particulier_token=None,
    )


@dataclass(frozen=True, slots=True)
class Foyer:
    qf: int
    allocataires: tuple[str, ...]
    enfants: tuple[str, ...]
    commune: str
    jour: date

    def faits(self, reglement: Reglement = REGLEMENT_DEMO) -> Faits:
        mois = (self.jour.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        donnees: dict[str, Any] = {
            "quotient_familial_caf": {"valeur": self.qf, "periode": mois, "fournisseur": "CNAF"},
            "allocataires": list(self.allocataires),
            "enfants": list(self.enfants),
            "date_naissance_demandeur": self.allocataires[0],
            "commune_residence": self.commune,
        }
        return lire_faits(donnees, catalogue=reglement.catalogue)


def foyers(nombre: int, graine: int, *, du: date = date(2026, 2, 1), jours: int = 270) -> list[Foyer]:
    alea = random.Random(graine)  # noqa: S311 - test data, not secrets
    resultat = []
    for _ in range(nombre):
        jour = du + timedelta(days=alea.randrange(jours))
        allocataires = tuple(
            f"{alea.randint(1940, 2000)}-0{alea.randint(1, 9)}-1{alea.randint(0, 9)}"
            for _ in range(alea.choice([1, 2]))
        )
        enfants = tuple(
            f"{alea.randint(2008, 2024)}-0{alea.randint(1, 9)}-2{alea.randint(0, 8)}"
            for _ in range(alea.choice([0, 0, 1, 2, 3]))
        )
        resultat.append(Foyer(alea.randrange(300, 900), allocataires, enfants, alea.choice(COMMUNES), jour))
    return resultat


def enregistrements(
    foyer: Foyer, organisme_id: str, dossier_ref: str, reglement: Reglement = REGLEMENT_DEMO
) -> tuple[ConsultationRecord, DecisionRecord]:
    """The consultation and decision records the eligibility flow would journal for this household."""
    faits = foyer.faits(reglement)
    evaluation = evaluer(reglement, faits, foyer.jour)
    cree_le = datetime.combine(foyer.jour, time(11, 30), tzinfo=FUSEAU_CCAS)
    decision_id = uuid.uuid4()
    decision = decision_json(
        evaluation,
        decision_id=decision_id,
        cree_le=cree_le,
        dossier_ref=dossier_ref,
        collecte=Collecte(),
        mention_texte="Décision proposée par un algorithme.",
    )
    consultation = ConsultationRecord(
        organisme_id=organisme_id,
        type="eligibilite",
        statut="succes",
        cree_le=cree_le,
        dossier_ref=dossier_ref,
    )
    record = DecisionRecord(
        id=decision_id,
        consultation_id=consultation.id,
        organisme_id=organisme_id,
        date_reference=foyer.jour,
        reglement_id=reglement.id,
        reglement_version=reglement.version,
        reglement_empreinte=reglement.empreinte,
        contenu={**decision, "faits": faits_vers_dict(faits)},
        cree_le=cree_le,
        dossier_ref=dossier_ref,
    )
    return consultation, record


async def journaliser(
    engine: AsyncEngine,
    liste: list[Foyer],
    organisme_id: str,
    reglement: Reglement = REGLEMENT_DEMO,
    trousseau: TrousseauJournal = TROUSSEAU,
) -> list[uuid.UUID]:
    """Journal each household's decision through the journal's own writer (encrypted)."""
    journal = Journal(engine, trousseau=trousseau)
    ids = []
    for rang, foyer in enumerate(liste):
        consultation, decision = enregistrements(foyer, organisme_id, f"D-{rang:05d}", reglement)
        await journal.enregistrer(consultation, decision)
        ids.append(decision.id)
    return ids


async def falsifier(engine: AsyncEngine, decision_id: uuid.UUID, dispositif: str, montant: int) -> None:
    """Change one aid's journaled amount inside the encrypted record and its compact copy, as the
    journal would have written a decision saying so (what integrity must catch)."""
    async with engine.begin() as connection:
        ligne = (
            await connection.execute(
                select(DecisionRow.contenu_chiffre, DecisionRow.cle_journal).where(
                    DecisionRow.id == decision_id
                )
            )
        ).one()
        texte = TROUSSEAU.dechiffrer(ligne.cle_journal, ligne.contenu_chiffre)
        assert texte is not None
        contenu = contenu_clair(texte)
        for resultat in contenu["resultats"]:
            if resultat["dispositif"] == dispositif:
                resultat["statut"], resultat["montant"] = "eligible", montant
        chiffre = TROUSSEAU.chiffrer(json.dumps(contenu))
        rejeu = texte_rejeu(contenu)
        assert rejeu is not None
        await connection.execute(
            update(DecisionRow)
            .where(DecisionRow.id == decision_id)
            .values(
                contenu_chiffre=chiffre.jeton,
                cle_journal=chiffre.cle,
                rejeu=TROUSSEAU.sceller_avec(chiffre.cle, rejeu),
            )
        )


async def sans_copie_de_rejeu(engine: AsyncEngine, ids: list[uuid.UUID]) -> None:
    """Make these decisions look written before the compact copy existed (migration 0007)."""
    async with engine.begin() as connection:
        await connection.execute(update(DecisionRow).where(DecisionRow.id.in_(ids)).values(rejeu=None))


def copie_format_1(contenu: dict[str, Any], forme: str) -> str:
    """The compact copy of a record as the journal wrote it before format 2, written here on its own
    (not through the journal's code): format 1's JSON, sealed with AES-GCM under TROUSSEAU's key
    (`a1.`: the entry's id alone as associated data) or, before that, a Fernet token."""
    texte = to_json(rejeu_de(contenu))
    if forme == "fernet":
        return Fernet(CLE_FERNET).encrypt(texte).decode()
    aead = AESGCM(derive_key(base64.urlsafe_b64decode(CLE_FERNET), f"{PURPOSE_SCELLE}:{CLE_DERIVEE}"))
    nonce = os.urandom(12)
    return "a1." + base64.b64encode(nonce + aead.encrypt(nonce, texte, CLE_DERIVEE.encode())).decode()


async def copies_anciennes(engine: AsyncEngine, ids: list[uuid.UUID], forme: str) -> None:
    """Give these decisions the compact copy of format 1 (`copie_format_1`)."""
    async with engine.begin() as connection:
        for decision_id in ids:
            ligne = (
                await connection.execute(
                    select(DecisionRow.contenu_chiffre, DecisionRow.cle_journal).where(
                        DecisionRow.id == decision_id
                    )
                )
            ).one()
            contenu = contenu_clair(TROUSSEAU.dechiffrer(ligne.cle_journal, ligne.contenu_chiffre) or "")
            await connection.execute(
                update(DecisionRow)
                .where(DecisionRow.id == decision_id)
                .values(rejeu=copie_format_1(contenu, forme))
            )


async def alterer_copie(engine: AsyncEngine, decision_id: uuid.UUID) -> None:
    """Flip one bit of a decision's sealed compact copy, as an attacker with write access would."""
    async with engine.begin() as connection:
        copie = (
            await connection.execute(select(DecisionRow.rejeu).where(DecisionRow.id == decision_id))
        ).scalar_one()
        assert copie is not None
        assert copie.startswith("a2.")
        donnees = bytearray(bytes.fromhex(copie[3:]))
        donnees[len(donnees) // 2] ^= 1
        await connection.execute(
            update(DecisionRow).where(DecisionRow.id == decision_id).values(rejeu=copie[:3] + donnees.hex())
        )
