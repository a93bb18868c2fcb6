"""The published rules of an organisme's règlement (CRPA L. 312-1-3), as the templates show them:
built from `app.rules.publication.reglement_vers_dict` (what `GET /v1/reglement` serves), with each
condition written in French and each barème drawn as a step chart (inline SVG, no image file).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from app.rules import explain
from app.rules.derived import Catalogue
from app.services.documents.vues import date_fr

#: Which provider gives a fact of the catalogue, in the notice's words.
ORIGINES = {
    "api_particulier": "CAF ou MSA, par API Particulier (données certifiées)",
    "impot_particulier": "administration fiscale (DGFiP), par API Impôt particulier (données certifiées)",
    "declaratif": "déclaration du demandeur, saisie par l'agent (non certifiée)",
    "demande": "demande (identité saisie par l'agent)",
    "calcule": "calculé par la passerelle à partir des autres données",
}


def _seuil(c: Mapping[str, Any], parametres: Mapping[str, Mapping[str, Any]]) -> str:
    if c.get("parametre"):
        p = parametres.get(c["parametre"])
        return str(p["libelle"]) if p else str(c["parametre"])
    v = c.get("valeur")
    if isinstance(v, list):
        return explain.liste([str(x) for x in v])
    if v is None:
        return "—"
    try:
        return explain.nombre(Decimal(str(v)))
    except ArithmeticError:
        return str(v)


def condition(c: Mapping[str, Any], parametres: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A condition of the règlement in French: `{texte, enfants}` (nested for all/any/not)."""
    if "toutes" in c:
        return {
            "texte": "toutes les conditions suivantes :",
            "enfants": [condition(e, parametres) for e in c["toutes"]],
        }
    if "au_moins_une" in c:
        return {
            "texte": "au moins une des conditions suivantes :",
            "enfants": [condition(e, parametres) for e in c["au_moins_une"]],
        }
    if "au_moins" in c:
        n = c["au_moins"]["nombre"]
        return {
            "texte": f"au moins {n} des conditions suivantes :",
            "enfants": [condition(e, parametres) for e in c["au_moins"]["parmi"]],
        }
    if "non" in c:
        return {"texte": "n'est pas remplie la condition :", "enfants": [condition(c["non"], parametres)]}
    libelle = str(c["fait"].get("libelle") or c["fait"]["nom"])
    verbe, _, preposition = explain.VERBES.get(c["operateur"], (c["operateur"], "", ""))
    seuil = _seuil(c, parametres)
    texte = f"{explain.majuscule(libelle)} {verbe} {explain.avec(preposition, seuil)}".strip()
    if c.get("fraicheur"):
        f = c["fraicheur"]
        texte += (
            f" (donnée de {f['mois']} mois au plus)"
            if f.get("mois")
            else f" (revenus N-1, à défaut N-{f['annees']})"
        )
    return {"texte": texte + ".", "enfants": []}


def _nombre(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def _bornes(t: Mapping[str, Any]) -> tuple[Decimal | None, Decimal | None]:
    bas = _nombre(t.get("de")) if t.get("de") is not None else _nombre(t.get("plus_de"))
    haut = _nombre(t.get("moins_de")) if t.get("moins_de") is not None else _nombre(t.get("jusqu_a"))
    return bas, haut


def _intervalle(t: Mapping[str, Any], unite: str | None) -> str:
    morceaux = []
    if t.get("de") is not None:
        morceaux.append(f"à partir de {explain.nombre(Decimal(t['de']), unite)}")
    if t.get("plus_de") is not None:
        morceaux.append(f"plus de {explain.nombre(Decimal(t['plus_de']), unite)}")
    if t.get("moins_de") is not None:
        morceaux.append(f"moins de {explain.nombre(Decimal(t['moins_de']), unite)}")
    if t.get("jusqu_a") is not None:
        morceaux.append(f"jusqu'à {explain.nombre(Decimal(t['jusqu_a']), unite)}")
    return explain.majuscule(" et ".join(morceaux)) if morceaux else "Toute valeur"


#: Text attributes of the charts: presentation attributes, not CSS classes, so that WeasyPrint's SVG
#: renderer and a browser draw the same thing.
_TEXTE = 'font-family="DejaVu Sans Doc, DejaVu Sans, sans-serif" font-size="9" fill="#000"'
_TRAIT = 'stroke="#000" stroke-width="1"'


def _ligne(x1: float, y1: float, x2: float, y2: float, attributs: str = _TRAIT) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" {attributs}/>'


def _texte(x: float, y: float, texte: str, ancre: str, gras: bool = False) -> str:
    poids = ' font-weight="bold"' if gras else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" {_TEXTE} text-anchor="{ancre}"{poids}>{escape(texte)}</text>'


def graphique_en_escalier(
    tranches: Sequence[Mapping[str, Any]],
    *,
    titre: str,
    legende_x: str,
    unite_x: str | None,
    unite_y: str | None,
) -> str | None:
    """A step chart of a barème (amount by value of the fact) as accessible inline SVG, or None
    when its tranches have no single amount to draw."""
    points: list[tuple[Decimal, Decimal | None, Decimal]] = []
    for t in tranches:
        if t.get("montant") is None:
            return None
        bas, haut = _bornes(t)
        points.append((bas or Decimal(0), haut, Decimal(t["montant"])))
    if not points:
        return None
    bornes_connues = [p[1] for p in points if p[1] is not None] + [p[0] for p in points]
    x_max = max(bornes_connues) * Decimal("1.25") or Decimal(1)
    y_max = max(p[2] for p in points) * Decimal("1.15") or Decimal(1)
    largeur, hauteur, gauche, bas_marge, haut_marge = 480, 200, 56, 34, 12
    zone_l, zone_h = largeur - gauche - 12, hauteur - bas_marge - haut_marge

    def x(v: Decimal) -> float:
        return gauche + float(v / x_max) * zone_l

    def y(v: Decimal) -> float:
        return haut_marge + zone_h - float(v / y_max) * zone_h

    zero = y(Decimal(0))
    traits = [
        _ligne(gauche, zero, largeur - 12, zero),
        _ligne(gauche, haut_marge, gauche, zero),
        _texte(gauche - 4, zero, "0", "end"),
        _texte(largeur - 12, hauteur - 4, legende_x, "end"),
    ]
    for g in sorted({b for b in bornes_connues if b > 0}):
        traits.append(_texte(x(g), zero + 14, explain.nombre(g), "middle"))
    for bas, haut, m in points:
        fin = haut if haut is not None else x_max
        traits.append(_ligne(x(bas), y(m), x(fin), y(m), 'stroke="#000" stroke-width="2.5"'))
        traits.append(
            _texte((x(bas) + x(fin)) / 2, y(m) - 4, explain.nombre(m, unite_y), "middle", gras=True)
        )
    for (_, haut, m), (_, _, m_suivant) in itertools.pairwise(points):
        if haut is not None:
            traits.append(_ligne(x(haut), y(m), x(haut), y(m_suivant), _TRAIT + ' stroke-dasharray="3 2"'))
    description = " ; ".join(
        f"{_intervalle(t, unite_x)} : {explain.nombre(Decimal(t['montant']), unite_y)}" for t in tranches
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {largeur} {hauteur}" class="escalier" '
        f'role="img" aria-label="{escape(titre)} — {escape(description)}" '
        f'width="{largeur}" height="{hauteur}">'
        f"<title>{escape(titre)}</title><desc>{escape(description)}</desc>" + "".join(traits) + "</svg>"
    )


def publication(
    regle: Mapping[str, Any], catalogue: Catalogue, *, organisme: str, site: str | None
) -> dict[str, Any]:
    """The context of the published rules, from `reglement_vers_dict` and the règlement's catalogue
    of facts (the gateway's and those the règlement declares)."""
    _unite_du_fait = catalogue.unite

    def _libelle_fait(nom: str) -> str:
        return _libelle(catalogue, nom)

    def _origine(nom: str) -> str:
        return _origine_du_fait(catalogue, nom)

    parametres = {p["nom"]: p for p in regle["parametres"]}
    baremes = []
    for b in regle["baremes"]:
        unite_x = _unite_du_fait(b["fait"]["nom"])
        versions = []
        for v in b["versions"]:
            tranches = [
                {
                    "intervalle": _intervalle(t, unite_x),
                    "montant": explain.nombre(Decimal(t["montant"]), b.get("unite"))
                    if t.get("montant") is not None
                    else ", ".join(
                        explain.nombre(Decimal(m), b.get("unite")) for m in t.get("montants") or []
                    ),
                    "libelle": t.get("libelle"),
                }
                for t in v["tranches"]
            ]
            versions.append(
                {
                    "depuis": date_fr(v["depuis"]),
                    "deliberation": (v.get("deliberation") or {}).get("reference"),
                    "tranches": tranches,
                    "svg": graphique_en_escalier(
                        v["tranches"],
                        titre=f"Barème « {b['libelle']} » depuis le {date_fr(v['depuis'])}",
                        legende_x=explain.majuscule(
                            f"{b['fait']['libelle']} ({unite_x})" if unite_x else b["fait"]["libelle"]
                        ),
                        unite_x=unite_x,
                        unite_y=b.get("unite"),
                    ),
                }
            )
        baremes.append(
            {"nom": b["nom"], "libelle": b["libelle"], "fait": b["fait"]["libelle"], "versions": versions}
        )
    dispositifs = [
        {
            "id": d["id"],
            "libelle": d["libelle"],
            "description": d.get("description"),
            "base_legale": d.get("base_legale"),
            "deliberation": (d.get("deliberation") or {}).get("reference"),
            "conditions": [condition(c, parametres) for c in d["conditions"]],
            "montant": _montant(d.get("montant"), parametres, {b["nom"]: b for b in regle["baremes"]}),
            "faits": [_libelle_fait(n) for n in d["besoins"]],
        }
        for d in regle["dispositifs"]
    ]
    return {
        "titre": f"Règles des aides — {regle['libelle']}",
        "organisme": organisme,
        "reglement": {
            "id": regle["id"],
            "version": regle["version"],
            "empreinte": regle["empreinte"],
            "libelle": regle["libelle"],
        },
        "site": site,
        "dispositifs": dispositifs,
        "parametres": [
            {
                "nom": p["nom"],
                "libelle": p["libelle"],
                "unite": p.get("unite"),
                "valeurs": [
                    {
                        "depuis": date_fr(v["depuis"]),
                        "valeur": _valeur_parametre(v["valeur"], p.get("unite")),
                        "deliberation": (v.get("deliberation") or {}).get("reference"),
                    }
                    for v in p["valeurs"]
                ],
            }
            for p in regle["parametres"]
        ],
        "baremes": baremes,
        "deliberations": regle["deliberations"],
        "donnees": [{"nom": _libelle_fait(n), "origine": _origine(n)} for n in regle["besoins"]["faits"]],
        "fraicheur": regle["fraicheur"],
    }


def _valeur_parametre(v: Any, unite: str | None) -> str:
    if isinstance(v, list):
        return explain.liste([str(x) for x in v], maximum=30)
    if isinstance(v, bool) or v is None:
        return "oui" if v else "non"
    try:
        return explain.nombre(Decimal(str(v)), unite)
    except ArithmeticError:
        return str(v)


def _montant(
    m: Mapping[str, Any] | None, parametres: Mapping[str, Mapping[str, Any]], baremes: Mapping[str, Any]
) -> str | None:
    if m is None:
        return None
    if m.get("bareme"):
        b = baremes.get(m["bareme"])
        return f"Selon le barème « {b['libelle'] if b else m['bareme']} » (ci-dessous)"
    if m.get("formule"):
        texte = f"calculé par la formule {m['formule']}"
    elif m.get("parametre"):
        p = parametres.get(m["parametre"])
        texte = str(p["libelle"]) if p else str(m["parametre"])
    elif m.get("valeur") is not None:
        texte = explain.nombre(Decimal(str(m["valeur"])), m.get("unite"))
    elif m.get("table"):
        texte = f"selon la table « {m['table']} »"
    else:
        texte = "montant fixé par l'organisme"
    if m.get("multiplie_par"):
        texte += f", multiplié par {m['multiplie_par']['libelle']}"
    return explain.majuscule(texte)


def _libelle(catalogue: Catalogue, nom: str) -> str:
    if nom in catalogue.derives:
        libelle = catalogue.derives[nom].libelle
    elif nom in catalogue.faits:
        libelle = catalogue.faits[nom].libelle
    else:
        libelle = nom.replace("_", " ")
    return explain.majuscule(libelle)


def _origine_du_fait(catalogue: Catalogue, nom: str) -> str:
    if nom in catalogue.derives:
        return ORIGINES["calcule"]
    definition = catalogue.faits.get(nom)
    if definition is None:
        return "—"
    return ORIGINES.get(definition.origine.value, definition.origine.value)
