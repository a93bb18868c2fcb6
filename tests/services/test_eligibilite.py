"""The decision built in one pass (`decision_json`) is exactly what the `Decision` schema gives for
the same evaluation: same fields, same order, numbers as JSON numbers, instants as pydantic writes
them. The HTTP answer and the journal both rely on it."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.rules.facts import Source
from app.rules.results import (
    ConditionEvaluee,
    Evaluation,
    ParametreApplique,
    ReferenceReglement,
    ResultatDispositif,
    Statut,
)
from app.schemas.eligibilite import Decision, DonneeIndisponible
from app.services.amont.collecte import Collecte
from app.services.amont.collecte import DonneeIndisponible as Indisponible
from app.services.eligibilite import decision_json


def _condition(
    seuil: object, valeur: object, ecart: Decimal | None, source: Source | None
) -> ConditionEvaluee:
    return ConditionEvaluee(
        critere="quotient_familial_caf",
        operateur="<=",
        seuil=seuil,  # type: ignore[arg-type]
        valeur=valeur,  # type: ignore[arg-type]
        satisfaite=None if valeur is None else True,
        ecart=ecart,
        source=source,
        deliberation="délibération n° 2025-14",
        parametre="plafond",
        explication="Une phrase « française ».",
        piece_justificative=None if valeur is not None else "attestation CAF",
    )


def _evaluation(obtenu_le: datetime) -> Evaluation:
    caf = Source("CNAF", certifie=True, periode="2026-11", obtenu_le=obtenu_le, request_id="r-1", perime=True)
    conditions = (
        _condition(Decimal("600"), Decimal("550.10"), Decimal("49.90"), caf),
        _condition(3, 2, Decimal("1"), Source("declaratif", certifie=False)),
        _condition(True, False, None, None),
        _condition(("08480", "08105"), "08480", None, Source("demande", certifie=False)),
        _condition(Decimal("0.5"), None, None, None),
    )
    return Evaluation(
        reglement=ReferenceReglement("ccas", "2026.1", "sha256:" + "0" * 64),
        date_reference=date(2026, 11, 26),
        resultats=(
            ResultatDispositif(
                "aide",
                "Aide",
                Statut.ELIGIBLE,
                "Éligible.",
                conditions,
                montant=Decimal("35.50"),
                tranche="1",
            ),
            ResultatDispositif(
                "autre", "Autre", Statut.A_VERIFIER, "À vérifier.", (), pieces_justificatives=("avis",)
            ),
        ),
        parametres_appliques=(
            ParametreApplique("plafond", Decimal("600.00"), date(2025, 3, 12), "délibération"),
            ParametreApplique("communes", ("08480",), date(2025, 1, 1), None),
            ParametreApplique("libelle", "texte", date(2025, 1, 1), None),
        ),
    )


@pytest.mark.parametrize(
    "obtenu_le",
    [
        datetime(2026, 11, 26, 15, 4, 32, 844533, tzinfo=UTC),
        datetime(2026, 11, 26, 15, 4, 32, tzinfo=UTC),
        datetime(2026, 11, 26, 15, 4, 32, 1, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_decision_json_is_what_the_decision_schema_gives(obtenu_le: datetime) -> None:
    evaluation = _evaluation(obtenu_le)
    collecte = Collecte(
        donnees_indisponibles=[Indisponible("impot_sur_le_revenu", "absent", "Pas de numéro.")]
    )
    decision_id = uuid.uuid4()
    cree_le = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)

    built = decision_json(
        evaluation,
        decision_id=decision_id,
        cree_le=cree_le,
        dossier_ref="D-1",
        collecte=collecte,
        mention_texte="Mention.",
    )

    # The former construction, through the schema.
    reference = Decision.model_validate(
        {
            "reglement": asdict(evaluation.reglement),
            "resultats": [asdict(r) for r in evaluation.resultats],
            "parametres_appliques": [asdict(p) for p in evaluation.parametres_appliques],
            "id": decision_id,
            "cree_le": cree_le,
            "date_reference": evaluation.date_reference,
            "dossier_ref": "D-1",
            "donnees_indisponibles": [
                DonneeIndisponible(donnee=d.donnee, code=d.code, raison=d.raison)
                for d in collecte.donnees_indisponibles
            ],
            "mention": "Mention.",
        }
    )
    expected = reference.model_dump(mode="json", exclude={"donnees"})
    assert built == expected
    assert list(built) == list(expected)
    assert (
        Decision.model_validate({**built, "donnees": None}).model_dump_json() == reference.model_dump_json()
    )
