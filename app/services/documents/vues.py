"""What each document shows, built from the decision record exactly as journaled (a fiche printed a
year later says what was decided then), and from the organisme's coordinates for the letter.

The functions here shape data for the templates; the sentences that the decision already carries
(motifs, explanations, the CRPA mention) are reused as they were journaled, never recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.rules import explain
from app.services.organismes.coordonnees import CONSERVATION_PAR_DEFAUT, RECOURS_PAR_DEFAUT, Coordonnees

STATUTS = {
    "eligible": "Éligible",
    "non_eligible": "Non éligible",
    "a_verifier": "À vérifier",
}
#: The same, as the applicant reads it in the letter.
PROPOSITIONS = {
    "eligible": "Proposée",
    "non_eligible": "Non proposée",
    "a_verifier": "En attente d'un justificatif",
}
OPERATEURS = {
    "<=": "≤",
    "<": "<",
    ">=": "≥",
    ">": ">",
    "==": "=",
    "!=": "≠",
    "in": "parmi",
    "not in": "hors de",
}
#: Who a provider code stands for, in a letter.
FOURNISSEURS = {
    "CNAF": "la Caisse nationale des allocations familiales (CAF), par API Particulier",
    "MSA": "la Mutualité sociale agricole (MSA), par API Particulier",
    "DGFIP": "la Direction générale des finances publiques (impôts), par API Impôt particulier",
    "declaratif": "vous-même, lors de votre demande (déclaration non certifiée)",
    "demande": "vous, lors de votre demande (identité saisie par l'agent)",
}


@dataclass(frozen=True, slots=True)
class Demandeur:
    """The applicant's name and postal address for the letter head: given by the caller for one
    render, never journaled, logged or cached."""

    nom: str
    adresse: tuple[str, ...]


def montant(valeur: Any, unite: str | None = "€") -> str:
    """A JSON number of the record, in French (`35 €`, `2,90 €`)."""
    if valeur is None:
        return "—"
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    if isinstance(valeur, int | float | Decimal):
        return explain.nombre(Decimal(str(valeur)), unite)
    if isinstance(valeur, list):
        return " ; ".join(_element(v) for v in valeur) or "aucun"
    if isinstance(valeur, dict):
        return _element(valeur)
    return str(valeur)


def _element(v: Any) -> str:
    """A member of a list fact (a person of the household: `date_naissance 1989-12-03, sexe F`)."""
    if isinstance(v, dict):
        return ", ".join(f"{k.replace('_', ' ')} {x}" for k, x in v.items() if x is not None)
    return str(v)


def valeur(v: Any) -> str:
    """A condition's value or threshold (units are in the explanation, not in the record)."""
    if v is None:
        return "inconnue"
    return montant(v, None)


def date_fr(texte: str | date | None) -> str:
    if texte is None:
        return "—"
    jour = texte if isinstance(texte, date) else date.fromisoformat(str(texte)[:10])
    return explain.jour(jour)


def instant_fr(texte: str | None) -> str:
    """`3 décembre 2026 à 12 h 24` (Paris time) from an ISO instant of the record."""
    if not texte:
        return "—"
    instant = datetime.fromisoformat(str(texte).replace("Z", "+00:00")).astimezone(explain.HEURE_FRANCAISE)
    return f"{explain.jour(instant.date())} à {instant.hour} h {instant.minute:02d}"


def _source(source: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not source:
        return None
    fournisseur = str(source.get("fournisseur"))
    return {
        "fournisseur": {"declaratif": "Déclaré par l'agent", "demande": "Saisi dans la demande"}.get(
            fournisseur, fournisseur
        ),
        "certifie": bool(source.get("certifie")),
        "periode": explain.periode(source.get("periode")) if source.get("periode") else None,
        "obtenu_le": instant_fr(source.get("obtenu_le")) if source.get("obtenu_le") else None,
        "depuis_cache": bool(source.get("depuis_cache")),
        "request_id": source.get("request_id"),
        "perime": bool(source.get("perime")),
    }


def _ecart(c: Mapping[str, Any]) -> str:
    if c.get("ecart") is None:
        return "—"
    return valeur(c["ecart"])


def _resultat(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "dispositif": r["dispositif"],
        "libelle": r["libelle"],
        "statut": r["statut"],
        "statut_libelle": STATUTS.get(r["statut"], r["statut"]),
        "proposition": PROPOSITIONS.get(r["statut"], r["statut"]),
        "montant": montant(r.get("montant")) if r.get("montant") is not None else None,
        "tranche": r.get("tranche"),
        "motif": r["motif"],
        "base_legale": r.get("base_legale"),
        "deliberation": r.get("deliberation"),
        "pieces": list(r.get("pieces_justificatives") or []),
        "conditions": [
            {
                "code": c.get("code") or c["critere"],
                "critere": c["critere"],
                "operateur": OPERATEURS.get(c["operateur"], c["operateur"]),
                "seuil": valeur(c.get("seuil")),
                "valeur": valeur(c.get("valeur")),
                "satisfaite": c.get("satisfaite"),
                "ecart": _ecart(c),
                "deliberation": c.get("deliberation"),
                "parametre": c.get("parametre"),
                "source": _source(c.get("source")),
                "explication": c["explication"],
                "piece": c.get("piece_justificative"),
            }
            for c in r.get("conditions", ())
        ],
    }


def fiche(
    contenu: Mapping[str, Any],
    *,
    organisme: str,
    consultation_id: str,
    code: str,
    empreinte_contenu: str,
    url_verification: str,
    qr: str,
) -> dict[str, Any]:
    """The context of the fiche de décision (for the agent and the commission)."""
    faits = contenu.get("faits") or {}
    return {
        "titre": f"Fiche de décision — dossier {contenu.get('dossier_ref') or 'sans référence'}",
        "organisme": organisme,
        "decision_id": str(contenu["id"]),
        "consultation_id": consultation_id,
        "cree_le": instant_fr(contenu.get("cree_le")),
        "date_reference": date_fr(contenu.get("date_reference")),
        "dossier_ref": contenu.get("dossier_ref"),
        "reglement": contenu["reglement"],
        "mention": contenu["mention"],
        "resultats": [_resultat(r) for r in contenu.get("resultats", ())],
        "parametres": [
            {
                "nom": p["nom"],
                "valeur": valeur(p["valeur"]),
                "depuis": date_fr(p.get("depuis")),
                "deliberation": p.get("deliberation"),
            }
            for p in contenu.get("parametres_appliques", ())
        ],
        "indisponibles": list(contenu.get("donnees_indisponibles", ())),
        "faits": [
            {"nom": nom, "valeur": valeur(f.get("valeur")), "source": _source(f.get("source"))}
            for nom, f in sorted((faits.get("connus") or {}).items())
        ],
        "code": code,
        "empreinte_contenu": empreinte_contenu,
        "url_verification": url_verification,
        "qr": qr,
    }


def _donnees_obtenues(contenu: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Who gave which data, for the letter: one line per provider, with the periods concerned."""
    par_fournisseur: dict[str, dict[str, Any]] = {}
    for nom, fait in sorted(((contenu.get("faits") or {}).get("connus") or {}).items()):
        source = fait.get("source") or {}
        fournisseur = str(source.get("fournisseur") or "demande")
        entree = par_fournisseur.setdefault(
            fournisseur,
            {
                "aupres_de": FOURNISSEURS.get(fournisseur, fournisseur),
                "certifie": bool(source.get("certifie")),
                "donnees": [],
                "periodes": set(),
                "obtenu_le": None,
            },
        )
        entree["donnees"].append(_nom_lisible(nom))
        if source.get("periode"):
            entree["periodes"].add(explain.periode(source["periode"]))
        if source.get("obtenu_le") and entree["obtenu_le"] is None:
            entree["obtenu_le"] = date_fr(source["obtenu_le"])
    return [
        {**e, "periodes": sorted(e["periodes"]), "donnees": sorted(set(e["donnees"]))}
        for e in par_fournisseur.values()
    ]


#: Facts as an applicant would name them (the catalogue's names are for machines).
_NOMS_LISIBLES = {
    "quotient_familial_caf": "quotient familial",
    "allocataires": "allocataires du foyer",
    "enfants": "enfants à charge",
    "date_naissance_demandeur": "date de naissance",
    "commune_residence": "commune de résidence",
    "statut_occupation_logement": "situation de logement",
    "revenu_fiscal_de_reference": "revenu fiscal de référence",
    "nombre_de_parts": "nombre de parts fiscales",
    "situation_familiale": "situation familiale (impôts)",
    "nombre_personnes_a_charge": "personnes à charge (impôts)",
}


def _nom_lisible(nom: str) -> str:
    return _NOMS_LISIBLES.get(nom, nom.replace("_", " "))


def _pourquoi(r: Mapping[str, Any]) -> list[str]:
    """Why, in the applicant's words: the conditions that decided (explanations as journaled)."""
    decisives = set(r.get("decisives") or ())
    conditions = list(r.get("conditions", ()))
    choisies = [c for c in conditions if (c.get("code") or c["critere"]) in decisives] or conditions
    if r["statut"] == "non_eligible":
        choisies = [c for c in choisies if c.get("satisfaite") is False] or choisies
    if r["statut"] == "a_verifier":
        choisies = [c for c in conditions if c.get("satisfaite") is None] or choisies
    return [str(c["explication"]) for c in choisies]


def lettre(
    contenu: Mapping[str, Any],
    *,
    organisme: str,
    coordonnees: Coordonnees | None,
    demandeur: Demandeur,
    code: str,
    aujourd_hui: date,
) -> dict[str, Any]:
    """The context of the letter to the applicant: no internal id but the dossier reference."""
    coord = coordonnees or Coordonnees()
    resultats = []
    for r in contenu.get("resultats", ()):
        vue = _resultat(r)
        vue["pourquoi"] = _pourquoi(r)
        resultats.append(vue)
    sources = {str((f.get("source") or {}).get("fournisseur")) for f in _connus(contenu)}
    return {
        "titre": f"Votre demande d'aide — dossier {contenu.get('dossier_ref') or 'sans référence'}",
        "organisme": organisme,
        "coordonnees": coord,
        "adresse_organisme": coord.lignes_adresse or [organisme],
        # The controller, named once even when the address starts with its name.
        "responsable": ", ".join(
            [organisme, *(ligne for ligne in coord.lignes_adresse if ligne != organisme)]
        ),
        "demandeur": demandeur,
        "date": explain.jour(aujourd_hui),
        "date_reference": date_fr(contenu.get("date_reference")),
        "dossier_ref": contenu.get("dossier_ref"),
        "resultats": resultats,
        "donnees_obtenues": _donnees_obtenues(contenu),
        "indisponibles": list(contenu.get("donnees_indisponibles", ())),
        "mention": contenu["mention"],
        "reglement_libelle": contenu["reglement"]["id"],
        "recours": coord.recours or RECOURS_PAR_DEFAUT,
        "conservation": coord.duree_conservation or CONSERVATION_PAR_DEFAUT,
        "certifiees": sorted(FOURNISSEURS[s] for s in sources if s in ("CNAF", "MSA", "DGFIP")),
        "code": code,
    }


def _connus(contenu: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    return list(((contenu.get("faits") or {}).get("connus") or {}).values())
