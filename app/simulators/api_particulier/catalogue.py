"""The API Particulier v3 endpoints the simulator serves, and the sandbox folder that feeds each one.

One table, shared by the development-time converter and the running simulator, so that a fixture
file's name, its URL path and the provider rules that apply to it (period, maintenance) never drift.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The query parameters of the identité pivot, in the order SIADE rebuilds them.
PARAMETRES_IDENTITE: tuple[str, ...] = (
    "nomNaissance",
    "nomUsage",
    "prenoms",
    "anneeDateNaissance",
    "moisDateNaissance",
    "jourDateNaissance",
    "sexeEtatCivil",
    "codeCogInseePaysNaissance",
    "codeCogInseeCommuneNaissance",
    "nomCommuneNaissance",
    "codeCogInseeDepartementNaissance",
)
PARAMETRES_PERIODE: tuple[str, ...] = ("annee", "mois")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One v3 route: its path, its sandbox folder and the rules of its provider."""

    path: str
    dossier: str
    #: Provider name used by SIADE for runtime error codes ("CNAF & MSA" → 35xxx, "Sécurité sociale" → 36xxx).
    fournisseur: str
    prefixe_code: str
    quotient_familial: bool
    france_connect: bool
    #: Scopes of which at least one opens the endpoint (checked on FranceConnect tokens).
    scopes: frozenset[str]

    @property
    def parametres_appel(self) -> tuple[str, ...]:
        """Parameters of the rebuilt provider call, the ones fixture matching compares."""
        return PARAMETRES_IDENTITE + (PARAMETRES_PERIODE if self.quotient_familial else ())

    @property
    def nom(self) -> str:
        """Short stable name (`quotient_familial/identite`), used in counters and fixture files."""
        return self.path.removeprefix("/v3/dss/")


_QF_SCOPES = frozenset({"cnaf_quotient_familial", "cnaf_allocataires", "cnaf_enfants", "cnaf_adresse"})
_CNAF_MSA = ("CNAF & MSA", "35")
_SECURITE_SOCIALE = ("Sécurité sociale", "36")


def _endpoint(ressource: str, modalite: str, scopes: frozenset[str]) -> Endpoint:
    quotient_familial = ressource == "quotient_familial"
    fournisseur, prefixe = _CNAF_MSA if quotient_familial else _SECURITE_SOCIALE
    suffixe = "with_france_connect" if modalite == "france_connect" else "with_civility"
    return Endpoint(
        path=f"/v3/dss/{ressource}/{modalite}",
        dossier=f"api_particulier_v3_cnav_{ressource}_{suffixe}",
        fournisseur=fournisseur,
        prefixe_code=prefixe,
        quotient_familial=quotient_familial,
        france_connect=modalite == "france_connect",
        scopes=scopes,
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    _endpoint("quotient_familial", "identite", _QF_SCOPES),
    _endpoint("quotient_familial", "france_connect", _QF_SCOPES),
    _endpoint("revenu_solidarite_active", "identite", frozenset({"revenu_solidarite_active"})),
    _endpoint("revenu_solidarite_active", "france_connect", frozenset({"revenu_solidarite_active"})),
    _endpoint("prime_activite", "identite", frozenset({"prime_activite"})),
    _endpoint("allocation_adulte_handicape", "identite", frozenset({"allocation_adulte_handicape"})),
    _endpoint("allocation_soutien_familial", "identite", frozenset({"allocation_soutien_familial"})),
    _endpoint("complementaire_sante_solidaire", "identite", frozenset({"complementaire_sante_solidaire"})),
)
ENDPOINTS_BY_PATH: dict[str, Endpoint] = {e.path: e for e in ENDPOINTS}

#: Sandbox folder of the fake FranceConnect identities (token → identité pivot).
DOSSIER_FRANCE_CONNECT = "france_connect"

#: Removed routes answer 410 with a plain-text body (contract §4.5).
MESSAGE_SVAIR_SUPPRIME = (
    "Cette URL n'existe plus sur API Particulier depuis le 8 janvier 2024. "
    "Veuillez mettre à jour votre application."
)
MESSAGE_QF_V1_SUPPRIME = (
    "L'API Quotient Familial v1 n'est plus disponible depuis le 31/10/2025. Veuillez utiliser "
    "l'API v2 : https://particulier.api.gouv.fr/catalogue/cnav/quotient_familial"
)
ROUTES_SUPPRIMEES: dict[str, str] = {
    "/api/v2/avis-imposition": MESSAGE_SVAIR_SUPPRIME,
    "/api/impots/svair": MESSAGE_SVAIR_SUPPRIME,
    "/api/v2/composition-familiale": MESSAGE_QF_V1_SUPPRIME,
    "/api/caf/famille": MESSAGE_QF_V1_SUPPRIME,
}
