"""The shipped sandbox cases, loaded once, and the exact case-insensitive matching the real sandbox does.

SIADE rebuilds the provider parameters from the validated request, lower-cases every string and
compares them exactly with each case's `params`: an extra or a missing parameter is no match, and an
unmatched call gets the endpoint's `404.yaml` case (contract §9.1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.simulators.api_particulier.catalogue import (
    DOSSIER_FRANCE_CONNECT,
    ENDPOINTS,
    ENDPOINTS_BY_PATH,
)

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
FALLBACK_FILE_STEM = "404"
#: Prefix of the FranceConnect tokens the simulator adds, one per FC case (not in the real sandbox).
SIMULATOR_TOKEN_PREFIX = "simulateur-"  # noqa: S105 - a public fake-token prefix, not a secret
_FC_ALL_SCOPES = "openid identite_pivot " + " ".join(sorted({s for e in ENDPOINTS for s in e.scopes}))

#: A rebuilt parameter set, lower-cased and hashable: ((name, value), …) sorted by name.
CleParametres = tuple[tuple[str, str | tuple[str, ...]], ...]


def cle_parametres(params: Mapping[str, Any]) -> CleParametres:
    """The comparable form of a parameter set: strings lower-cased, integers as text, lists kept in order."""
    items: list[tuple[str, str | tuple[str, ...]]] = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            items.append((name, tuple(str(v).lower() for v in value)))
        else:
            items.append((name, str(value).lower()))
    return tuple(sorted(items))


@dataclass(frozen=True, slots=True)
class FranceConnectIdentity:
    """What FranceConnect's token introspection would answer for a fake token."""

    token: str
    scopes: frozenset[str]
    nom_naissance: str
    prenoms: tuple[str, ...]
    date_naissance: str
    sexe: str
    code_commune_naissance: str | None
    code_pays_naissance: str
    nom_usage: str | None
    #: `bac_a_sable` for the official fake tokens, `simulateur` for the ones this simulator adds.
    origine: str

    def parametres_appel(self) -> dict[str, Any]:
        """The identité pivot SIADE builds from the introspection (contract §3)."""
        annee, mois, jour = (int(part) for part in self.date_naissance.split("-"))
        params: dict[str, Any] = {
            "nomNaissance": self.nom_naissance,
            "nomUsage": self.nom_usage,
            "prenoms": list(self.prenoms),
            "anneeDateNaissance": annee,
            "moisDateNaissance": mois,
            "jourDateNaissance": jour,
            "sexeEtatCivil": self.sexe,
            "codeCogInseePaysNaissance": self.code_pays_naissance,
        }
        if self.code_pays_naissance == "99100":
            params["codeCogInseeCommuneNaissance"] = self.code_commune_naissance
        return {k: v for k, v in params.items() if v is not None}


@dataclass(frozen=True, slots=True)
class FixtureCase:
    """One sandbox case: the call that triggers it and the answer it gets."""

    endpoint: str
    fichier: str
    title: str | None
    description: str | None
    params: Mapping[str, Any]
    status: int
    payload: Any
    #: FranceConnect tokens whose identity leads to this case (FranceConnect endpoints only).
    france_connect_tokens: tuple[str, ...] = field(default=())

    @property
    def is_fallback(self) -> bool:
        return Path(self.fichier).stem == FALLBACK_FILE_STEM

    @property
    def cle(self) -> CleParametres:
        return cle_parametres(self.params)

    @property
    def raison_inatteignable(self) -> str | None:
        """Why no valid call can select this case (misspelled keys in the upstream data…), or None."""
        endpoint = ENDPOINTS_BY_PATH[self.endpoint]
        unknown = sorted(set(self.params) - set(endpoint.parametres_appel))
        if unknown:
            return f"paramètres inconnus de l'API : {', '.join(unknown)}"
        if "codeCogInseePaysNaissance" not in self.params:
            return "codeCogInseePaysNaissance absent, or il est obligatoire"
        if endpoint.france_connect and not self.france_connect_tokens:
            return "aucun jeton FranceConnect ne mène à cette identité"
        return None

    def query_params(self) -> list[tuple[str, str]]:
        """The query string (without `recipient`) that selects this case on an `/identite` route.

        On a `/france_connect` route only the period parameters go in the query: the identity
        comes from the token (see `france_connect_tokens`).
        """
        endpoint = ENDPOINTS_BY_PATH[self.endpoint]
        query: list[tuple[str, str]] = []
        for name, value in self.params.items():
            if endpoint.france_connect and name not in ("annee", "mois"):
                continue
            if isinstance(value, list):
                query.extend(("prenoms[]" if name == "prenoms" else name, str(v)) for v in value)
            else:
                query.append((name, str(value)))
        return query


def _read(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _official_identity(case: Mapping[str, Any]) -> FranceConnectIdentity:
    introspection = case["payload"]["token_introspection"]
    return FranceConnectIdentity(
        token=str(case["params"]["token"]),
        scopes=frozenset(str(introspection.get("scope", "")).split()),
        nom_naissance=introspection["family_name"],
        prenoms=tuple(str(introspection["given_name"]).split()),
        date_naissance=introspection["birthdate"],
        sexe="M" if introspection.get("gender") == "male" else "F",
        code_commune_naissance=introspection.get("birthplace"),
        code_pays_naissance=introspection["birthcountry"],
        nom_usage=introspection.get("preferred_username"),
        origine="bac_a_sable",
    )


def _simulator_identity(case: Mapping[str, Any]) -> FranceConnectIdentity | None:
    """A fake token for a FranceConnect case: the official fake tokens carry no `nomUsage` and
    never reach the cases that expect one, so each case gets its own token here."""
    params = case["params"]
    date_keys = ("anneeDateNaissance", "moisDateNaissance", "jourDateNaissance")
    known = {"nomNaissance", "nomUsage", "prenoms", "sexeEtatCivil", "codeCogInseeCommuneNaissance"}
    if case["status"] != 200 or set(params) - known - set(date_keys) - {"codeCogInseePaysNaissance"}:
        return None
    if not all(k in params for k in (*date_keys, "codeCogInseePaysNaissance", "prenoms")):
        return None
    annee, mois, jour = (int(params[k]) for k in date_keys)
    return FranceConnectIdentity(
        token=f"{SIMULATOR_TOKEN_PREFIX}{Path(case['fichier']).stem}",
        scopes=frozenset(_FC_ALL_SCOPES.split()),
        nom_naissance=params["nomNaissance"],
        prenoms=tuple(params["prenoms"]),
        date_naissance=f"{annee:04d}-{mois:02d}-{jour:02d}",
        sexe=params["sexeEtatCivil"],
        code_commune_naissance=params.get("codeCogInseeCommuneNaissance"),
        code_pays_naissance=params["codeCogInseePaysNaissance"],
        nom_usage=params.get("nomUsage"),
        origine="simulateur",
    )


@lru_cache(maxsize=1)
def load_france_connect_identities() -> tuple[FranceConnectIdentity, ...]:
    """The sandbox's official fake FranceConnect tokens, then one `simulateur-<file stem>` per FC case."""
    official = _read(FIXTURES_DIR / f"{DOSSIER_FRANCE_CONNECT}.json")["cas"]
    identities = {i.token: i for i in map(_official_identity, official)}
    for endpoint in ENDPOINTS:
        if not endpoint.france_connect:
            continue
        for case in _read(FIXTURES_DIR / f"{endpoint.dossier}.json")["cas"]:
            identity = _simulator_identity(case)
            if identity is None:
                continue
            # The same file name on two routes (QF and RSA) carries the same identity: one token.
            if identities.setdefault(identity.token, identity) != identity:
                raise ValueError(f"{identity.token} : deux identités différentes pour le même jeton")
    return tuple(identities.values())


@lru_cache(maxsize=1)
def load_fixtures() -> tuple[FixtureCase, ...]:
    """Every shipped sandbox case of every endpoint, in file order (stable, read-only)."""
    identities = load_france_connect_identities()
    cases: list[FixtureCase] = []
    for endpoint in ENDPOINTS:
        for raw in _read(FIXTURES_DIR / f"{endpoint.dossier}.json")["cas"]:
            cle = cle_parametres(raw["params"])
            tokens = tuple(
                i.token
                for i in identities
                if endpoint.france_connect and cle_parametres(i.parametres_appel()) == cle
            )
            cases.append(
                FixtureCase(
                    endpoint=endpoint.path,
                    fichier=raw["fichier"],
                    title=raw.get("title"),
                    description=raw.get("description"),
                    params=MappingProxyType(raw["params"]),
                    status=raw["status"],
                    payload=raw["payload"],
                    france_connect_tokens=tokens,
                )
            )
    return tuple(cases)


class FixtureIndex:
    """Per-endpoint lookup: rebuilt parameter set → case, with the endpoint's 404 case as fallback."""

    def __init__(self, cases: tuple[FixtureCase, ...], identities: tuple[FranceConnectIdentity, ...]) -> None:
        self._by_key: dict[str, dict[CleParametres, FixtureCase]] = {e.path: {} for e in ENDPOINTS}
        self._fallback: dict[str, FixtureCase] = {}
        for case in cases:
            # First file wins on duplicate parameter sets, as a deterministic rule.
            self._by_key[case.endpoint].setdefault(case.cle, case)
            if case.is_fallback:
                self._fallback[case.endpoint] = case
        self.identities: dict[str, FranceConnectIdentity] = {i.token: i for i in identities}

    def match(self, endpoint: str, params: Mapping[str, Any], *, period_free: bool = False) -> FixtureCase:
        """Exact match, else (with `period_free`) the same person's case without `annee`/`mois`.

        `period_free` is the production behaviour: there the period is a question put to the
        provider, not part of the identity, so any valid month finds the person.
        """
        cases = self._by_key[endpoint]
        case = cases.get(cle_parametres(params))
        if case is None and period_free and ("annee" in params or "mois" in params):
            identity = {k: v for k, v in params.items() if k not in ("annee", "mois")}
            case = cases.get(cle_parametres(identity))
        return case or self._fallback[endpoint]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_key)


@lru_cache(maxsize=1)
def default_index() -> FixtureIndex:
    return FixtureIndex(load_fixtures(), load_france_connect_identities())
