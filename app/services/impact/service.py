"""The impact flow (issue 17): every decision an organisme made in a period, replayed with its own
journaled facts under the règlement it was decided with (it must reproduce the journal: integrity)
and under a proposal (what would change, and what it would cost).

Streamed from the journal a page at a time (bounded memory); each page is decrypted and replayed in
a worker thread, so the event loop keeps serving; the règlements are parsed and compiled once per
version (archived texts, app/services/organismes/archives.py), the decisions of a page grouped by
(version, reference date) so the engine's per-date preparation is reused.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

import anyio.to_thread
import structlog
from pydantic_core import from_json
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import DATABASE_ERRORS
from app.errors import FieldError, InvalidInput, JournalUnavailable
from app.rules.compiled import CompiledPlan, ParametreSansValeur, compile_plan
from app.rules.compiled import Verdict as VerdictMoteur
from app.rules.derived import Catalogue
from app.rules.facts import Faits
from app.rules.loader import ReglementInvalide, lire_reglement
from app.rules.model import Reglement
from app.services.impact.bilan import Bilan, Changement
from app.services.impact.identite import Identites
from app.services.impact.proposition import Proposition
from app.services.impact.rejeu import (
    ERREURS_EVALUATION,
    LecteurFaits,
    Verdict,
    faits_de_base,
    verdict_compact,
)
from app.services.journal.chiffrement import TrousseauJournal
from app.services.journal.rejeu import CopieRejeu
from app.services.journal.relecture import LOT_RELECTURE, DecisionRelue, RelectureJournal
from app.services.organismes import Organisme
from app.services.organismes.archives import lire_archive

logger = structlog.get_logger(__name__)

#: Agents think in the town hall's civil days.
FUSEAU_CCAS = ZoneInfo("Europe/Paris")
#: Aids a request may name.
DISPOSITIFS_MAX = 50
ANNEE_MIN, ANNEE_MAX = 1900, 2999


@dataclass(frozen=True, slots=True)
class Rejeu:
    """A checked request: which organisme, which proposal, which decisions."""

    organisme: Organisme
    proposition: Proposition
    du: date
    au: date
    dispositifs: tuple[str, ...] | None
    #: Decisions of the period (counted when the request was checked).
    decisions: int

    @property
    def debut(self) -> datetime:
        return datetime.combine(self.du, time.min, tzinfo=FUSEAU_CCAS)

    @property
    def fin(self) -> datetime:
        return datetime.combine(self.au + timedelta(days=1), time.min, tzinfo=FUSEAU_CCAS)


#: `progression(decisions_rejouees, total)` after each page.
Progression = Callable[[int, int], None]


class ServiceImpact:
    """Replays an organisme's past decisions under a proposed règlement."""

    def __init__(
        self,
        engine: AsyncEngine,
        trousseau: TrousseauJournal | None,
        *,
        decisions_max: int,
        periode_jours_max: int,
        lot: int = LOT_RELECTURE,
    ) -> None:
        self._engine = engine
        self._trousseau = trousseau
        self._relecture = RelectureJournal(engine, trousseau, lot=lot)
        self._decisions_max = decisions_max
        self._periode_jours_max = periode_jours_max

    async def preparer(
        self,
        organisme: Organisme,
        proposition: Proposition,
        du: date,
        au: date,
        dispositifs: Sequence[str] | None = None,
    ) -> Rejeu:
        """Check the request (422 naming each faulty field) and count its decisions."""
        erreurs = [
            FieldError(nom, f"la date doit être comprise entre {ANNEE_MIN} et {ANNEE_MAX}")
            for nom, jour in (("du", du), ("au", au))
            if not ANNEE_MIN <= jour.year <= ANNEE_MAX
        ]
        if not erreurs and du > au:
            erreurs.append(FieldError("du", "la période commence après sa fin (au)"))
        elif not erreurs and (au - du).days + 1 > self._periode_jours_max:
            erreurs.append(
                FieldError(
                    "au", f"la période compte au plus {self._periode_jours_max} jours : raccourcissez-la"
                )
            )
        if dispositifs is not None:
            connus = {d.id for d in organisme.reglement.dispositifs} | {
                d.id for d in proposition.reglement.dispositifs
            }
            if len(dispositifs) > DISPOSITIFS_MAX:
                erreurs.append(FieldError("dispositifs", f"au plus {DISPOSITIFS_MAX} dispositifs"))
            erreurs += [
                FieldError("dispositifs", f"dispositif inconnu du règlement et de la proposition : « {d} »")
                for d in dispositifs
                if d not in connus
            ][:1]
        if erreurs:
            raise InvalidInput.for_fields(erreurs)
        choisis = None if dispositifs is None else tuple(dict.fromkeys(dispositifs))
        rejeu = Rejeu(organisme, proposition, du, au, choisis, 0)
        try:
            nombre = await self._relecture.compter(organisme.id, rejeu.debut, rejeu.fin)
        except DATABASE_ERRORS as e:
            raise _indisponible(e) from e
        if nombre > self._decisions_max:
            raise InvalidInput.for_fields(
                [
                    FieldError(
                        "au",
                        f"la période compte {nombre} décisions, au plus {self._decisions_max} sont "
                        "rejouées par demande : raccourcissez-la ou choisissez des dispositifs",
                    )
                ]
            )
        return Rejeu(organisme, proposition, du, au, choisis, nombre)

    async def mesurer(self, rejeu: Rejeu, progression: Progression | None = None) -> Bilan:
        """The whole period replayed, summarised (counts only: memory does not grow with it)."""
        bilan = _bilan(rejeu)
        async for _ in self._rejouer(rejeu, bilan, progression):
            pass
        return bilan

    async def changements(
        self, rejeu: Rejeu, progression: Progression | None = None, bilan: Bilan | None = None
    ) -> AsyncGenerator[list[Changement], None]:
        """Page after page, the lines of the CSV: changed decisions, those counted apart, and the
        integrity alerts (each aid of a decision on its own line). `bilan`, if given, is filled too."""
        async for lignes in self._rejouer(rejeu, bilan or _bilan(rejeu), progression):
            if lignes:
                yield lignes

    async def _rejouer(
        self, rejeu: Rejeu, bilan: Bilan, progression: Progression | None
    ) -> AsyncIterator[list[Changement]]:
        originaux: dict[str, Reglement | None] = {}
        contexte = Contexte(rejeu)
        faites = 0
        pages = self._relecture.pages(rejeu.organisme.id, rejeu.debut, rejeu.fin)
        suivante = asyncio.ensure_future(_page_suivante(pages))
        try:
            while True:
                try:
                    lignes_lues = await suivante
                except DATABASE_ERRORS as e:
                    raise _indisponible(e) from e
                if lignes_lues is None:
                    contexte.solder(bilan)
                    return
                # The next page is fetched while this one is replayed: the database's work (≈ a
                # third of fetching a page) overlaps ours instead of adding to it.
                suivante = asyncio.ensure_future(_page_suivante(pages))
                for empreinte in {ligne.reglement_empreinte for ligne in lignes_lues} - originaux.keys():
                    originaux[empreinte] = await self._original(rejeu.organisme, empreinte)
                lignes: list[Changement] = []
                alterees = await anyio.to_thread.run_sync(
                    self._page, contexte, lignes_lues, originaux, bilan, lignes
                )
                for decision in alterees:
                    await self._alteree(decision, contexte, originaux, bilan=bilan, lignes=lignes)
                if contexte.distincts() >= COMPTES_MAX:
                    contexte.solder(bilan)
                faites += len(lignes_lues)
                if progression is not None:
                    progression(faites, max(rejeu.decisions, faites))
                yield lignes
        finally:
            # Stopped early (a client gone, an error): the page being fetched is not waited for.
            if not suivante.done():
                suivante.cancel()
                await asyncio.wait([suivante])
            if not suivante.cancelled():
                suivante.exception()  # retrieved: an error there is not logged as forgotten
            await pages.aclose()

    async def _original(self, organisme: Organisme, empreinte: str) -> Reglement | None:
        """The règlement a decision names: the current one, else its archived text."""
        if organisme.reglement.empreinte == empreinte:
            return organisme.reglement
        try:
            texte = await lire_archive(self._engine, organisme.id, empreinte, self._trousseau)
        except DATABASE_ERRORS as e:
            raise _indisponible(e) from e
        if texte is None:
            return None
        try:
            reglement = await anyio.to_thread.run_sync(lire_reglement, texte, f"archive {empreinte[:19]}")
        except ReglementInvalide:
            logger.error("impact.archive_unreadable", organisme_id=organisme.id)
            return None
        return reglement if reglement.empreinte == empreinte else None

    def _page(
        self,
        contexte: Contexte,
        lignes_lues: Sequence[Any],
        originaux: Mapping[str, Reglement | None],
        bilan: Bilan,
        lignes: list[Changement],
    ) -> list[DecisionRelue]:
        """The page replayed; returns its decisions whose compact copy was altered (`_alteree`)."""
        # Only the decision in hand is decrypted and parsed; the plans compiled for each
        # (version, reference date, aids) are kept by `contexte` for the whole replay.
        alterees = []
        with sans_ramasse_miettes():
            for decision in self._relecture.ouvrir(lignes_lues):
                if decision.alteree:
                    alterees.append(decision)  # its whole record is read after the page
                    continue
                rejouer_decision(
                    decision, contexte, originaux.get(decision.reglement_empreinte), bilan, lignes
                )
        return alterees

    async def _alteree(
        self,
        decision: DecisionRelue,
        contexte: Contexte,
        originaux: Mapping[str, Reglement | None],
        *,
        bilan: Bilan,
        lignes: list[Changement],
    ) -> None:
        """A decision whose compact copy was altered (it does not open under its key, which the
        ring holds): an integrity alert on each of its aids, and the decision replayed from its
        whole record (authenticated on its own) — or counted unreadable if that does not open."""
        organisme_id = contexte.rejeu.organisme.id
        try:
            copie = await self._relecture.relire_entiere(organisme_id, decision)
        except DATABASE_ERRORS as e:
            raise _indisponible(e) from e
        logger.error("impact.compact_copy_altered", organisme_id=organisme_id)
        decision = decision._replace(rejeu=copie, alteree=False)
        rejouer_decision(decision, contexte, originaux.get(decision.reglement_empreinte), bilan, lignes)
        if copie is None:
            return
        for dispositif, (verdict, _) in contexte.journalises(copie.resultats).verdicts.items():
            alerte = Changement(
                decision.id, decision.dossier_ref, dispositif, "alerte_integrite", verdict, None, _ALTEREE
            )
            bilan.alerte(alerte)
            lignes.append(alerte)


async def _page_suivante(pages: AsyncIterator[Sequence[Any]]) -> Sequence[Any] | None:
    # The collector paused while the page is fetched too: its rows are short-lived as well, and
    # each collection there would walk what the replay keeps (measured: ≈ 10 % of a replay).
    with sans_ramasse_miettes():
        return await anext(pages, None)


_PAUSES = 0
_PAUSES_VERROU = threading.Lock()


@contextmanager
def sans_ramasse_miettes() -> Iterator[None]:
    """The cycle collector paused for one page (≈ 1 000 decisions, a fraction of a second): a
    replay allocates millions of short-lived objects, none in cycles (reference counting frees
    them), and each collection would walk the facts and plans it keeps — measured: 13 % of the
    replay. Process-wide (the collector has no other switch), so counted: it resumes when the last
    page in progress ends, whatever happens in it."""
    global _PAUSES  # noqa: PLW0603 - one counter for the process, as the collector is
    with _PAUSES_VERROU:
        ailleurs = _PAUSES == 0 and not gc.isenabled()  # paused by someone else: theirs to resume
        if not ailleurs:
            _PAUSES += 1
            gc.disable()
    if ailleurs:
        yield
        return
    try:
        yield
    finally:
        with _PAUSES_VERROU:
            _PAUSES -= 1
            if _PAUSES == 0:
                gc.enable()


#: Compiled plans (and per-version-and-date steps) one replay keeps.
PLANS_MAX = 4096
_ABSENT = "dispositif absent du règlement proposé"
_ALTEREE = "copie de rejeu altérée dans le journal (décision rejouée depuis son enregistrement entier)"


class _Etape:
    """What replaying a decision of one version, date and aids means, worked out once: the aids
    the proposal lacks, those whose base facts it needs beyond what was asked for then (checked
    against each decision's collected facts), and those it leaves as they were (`Identites`)."""

    __slots__ = (
        "a_controler", "a_evaluer", "absents", "evaluables", "parties", "plan_original", "plan_propose",
        "repris",
    )  # fmt: skip

    def __init__(
        self, contexte: Contexte, original: Reglement | None, jour: date, aids: tuple[str, ...]
    ) -> None:
        rejeu = contexte.rejeu
        proposition = rejeu.proposition.reglement
        lue_par = original or rejeu.organisme.reglement
        demandes = frozenset().union(*(contexte.faits_de_base(lue_par, d) for d in aids))
        self.absents = frozenset(d for d in aids if proposition.dispositif(d) is None)
        #: Aid → the base facts the proposal reads that the decision's aids did not ask for.
        self.a_controler = {
            d: besoin
            for d in aids
            if d not in self.absents and (besoin := contexte.faits_de_base(proposition, d) - demandes)
        }
        #: In the decision's order, when every fact they need was collected.
        self.evaluables = tuple(d for d in aids if d not in self.absents)
        identiques = frozenset() if original is None else contexte.identiques(original, jour)
        self.repris = frozenset(d for d in self.evaluables if d in identiques)
        self.a_evaluer = tuple(d for d in self.evaluables if d not in self.repris)
        #: The plans of the short way (`_rejeu_courant`), looked up on first use: one lookup of the
        #: step per decision instead of one per plan.
        self.plan_original: CompiledPlan | None = None
        self.plan_propose: CompiledPlan | None = None
        #: Journaled results → their issues for `a_evaluer` (`Journalises.partie`).
        self.parties: dict[Journalises, tuple[Issue, ...]] = {}

    def partie(self, journalises: Journalises) -> tuple[Issue, ...]:
        """What the proposal gives for `a_evaluer` when it reproduces the journaled verdicts."""
        partie = self.parties.get(journalises)
        if partie is None:
            partie = self.parties[journalises] = journalises.partie(self.a_evaluer)
        return partie


class Journalises:
    """A decision's journaled results (`rejeu["resultats"]`, one distinct JSON text), those of the
    chosen aids, read once per replay (a period repeats the same few): never modified."""

    __slots__ = ("aids", "attendu", "verdicts")

    def __init__(self, texte: str, choisis: tuple[str, ...] | None) -> None:
        #: Aid → (verdict, libellé), in the decision's order.
        self.verdicts: dict[str, tuple[Verdict, str]] = {}
        for resultat in from_json(texte):
            dispositif = str(resultat[0])
            if choisis is None or dispositif in choisis:
                self.verdicts[dispositif] = (verdict_compact(resultat), str(resultat[1] or dispositif))
        self.aids = tuple(self.verdicts)
        #: What a replay reproducing them gives (`issues`), compared as one tuple; None when a
        #: result lacks its motif codes (written before them): compared aid by aid then.
        self.attendu: tuple[Issue, ...] | None = (
            None
            if any(v.decisives is None for v, _ in self.verdicts.values())
            else tuple(
                (d, v.statut, v.montant, v.tranche, v.decisives) for d, (v, _) in self.verdicts.items()
            )
        )

    def partie(self, dispositifs: tuple[str, ...]) -> tuple[Issue, ...]:
        """The issues of `dispositifs` (in that order) as journaled: what the proposal gives when it
        changes nothing for them. Only for results with their motif codes (`attendu`)."""
        if self.attendu is None:
            raise ValueError("résultats journalisés sans leurs codes de motif")
        rangs = {issue[0]: issue for issue in self.attendu}
        return tuple(rangs[d] for d in dispositifs)


#: (dispositif, statut, montant, tranche, decisives) of an aid's verdict, as a plain tuple.
Issue = tuple[str, str, Any, str | None, tuple[str, ...] | None]


_ISSUE = attrgetter("dispositif", "statut", "montant", "tranche", "decisives")


def issues(verdicts_moteur: Iterable[VerdictMoteur]) -> tuple[Issue, ...]:
    """The engine's verdicts as tuples: compared and counted without building an object each (the
    tuples made in C by `attrgetter`: no Python frame per verdict)."""
    return tuple(map(_ISSUE, verdicts_moteur))


#: Distinct (step, journaled results, verdicts under the proposal) kept before they are counted.
COMPTES_MAX = 10_000


class Contexte:
    """What one replay keeps from decision to decision: the plans compiled per (règlement, date,
    aids), what a version, date and aids mean for the proposal (`_Etape`), the journaled verdicts
    already read, the facts reader (its sources and values converted once), and the decisions
    replayed the common way, counted by what they gave (`comptes`, folded into the summary by
    `solder`: one count per decision instead of ten per-aid updates). A decision whose verdicts
    under the proposal are its journaled ones (most: a proposal changes few) is counted in
    `inchanges` by (step, journaled results) only — two objects hashed by identity —, its verdicts
    neither hashed (amounts, statuses, codes) nor kept."""

    __slots__ = (
        "_bases", "_etapes", "_identites", "_journalises", "_plans", "comptes", "inchanges", "lecteur",
        "rejeu",
    )  # fmt: skip

    def __init__(self, rejeu: Rejeu) -> None:
        self.rejeu = rejeu
        self.lecteur = LecteurFaits()
        self._plans: dict[tuple[Reglement, date, tuple[str, ...]], CompiledPlan] = {}
        self._identites: dict[Reglement, Identites] = {}
        self._bases: dict[tuple[Reglement, str], frozenset[str]] = {}
        self._etapes: dict[tuple[Reglement | None, date, tuple[str, ...]], _Etape] = {}
        self._journalises: dict[str, Journalises] = {}
        self.comptes: Counter[tuple[_Etape, Journalises, tuple[Issue, ...]]] = Counter()
        self.inchanges: dict[tuple[_Etape, Journalises], int] = {}

    def distincts(self) -> int:
        """Distinct cases counted and not yet folded into the summary (bounded by COMPTES_MAX)."""
        return len(self.comptes) + len(self.inchanges)

    def plan(self, reglement: Reglement, jour: date, dispositifs: tuple[str, ...]) -> CompiledPlan:
        """The plan compiled for (règlement, date, aids), once per replay."""
        cle = (reglement, jour, dispositifs)
        compile = self._plans.get(cle)
        if compile is None:
            compile = compile_plan(reglement, jour, dispositifs)
            if len(self._plans) >= PLANS_MAX:
                self._plans.clear()
            self._plans[cle] = compile
        return compile

    def verdicts(
        self, reglement: Reglement, faits: Faits, jour: date, dispositifs: tuple[str, ...]
    ) -> dict[str, Verdict]:
        """As `rejeu.verdicts`, with the plan compiled once per (règlement, date, aids)."""
        return {
            v.dispositif: Verdict(v.statut.value, v.montant, v.tranche, v.decisives)
            for v in self.plan(reglement, jour, dispositifs).verdicts(faits)
        }

    def identiques(self, original: Reglement, jour: date) -> frozenset[str]:
        """The aids of `original` whose verdict the proposal cannot change at `jour`."""
        identites = self._identites.get(original)
        if identites is None:
            identites = self._identites[original] = Identites(original, self.rejeu.proposition.reglement)
        return identites.a(jour)

    def faits_de_base(self, reglement: Reglement, dispositif: str) -> frozenset[str]:
        cle = (reglement, dispositif)
        bases = self._bases.get(cle)
        if bases is None:
            bases = self._bases[cle] = faits_de_base(reglement, dispositif)
        return bases

    def etape(self, original: Reglement | None, jour: date, aids: tuple[str, ...]) -> _Etape:
        cle = (original, jour, aids)
        etape = self._etapes.get(cle)
        if etape is None:
            etape = _Etape(self, original, jour, aids)
            if len(self._etapes) >= PLANS_MAX:
                self._etapes.clear()
            self._etapes[cle] = etape
        return etape

    def journalises(self, texte: str) -> Journalises:
        """A decision's journaled results, read once per distinct text."""
        journalises = self._journalises.get(texte)
        if journalises is None:
            journalises = Journalises(texte, self.rejeu.dispositifs)
            if len(self._journalises) >= PLANS_MAX:
                self._journalises.clear()
            self._journalises[texte] = journalises
        return journalises

    def solder(self, bilan: Bilan) -> None:
        """The decisions counted in `comptes` and `inchanges` added to `bilan`, aid by aid (then
        forgotten)."""
        for (etape, journalises), fois in self.inchanges.items():
            for dispositif in etape.evaluables:
                avant, libelle = journalises.verdicts[dispositif]
                bilan.dispositif(dispositif, libelle).compter(avant, avant, fois)
        self.inchanges.clear()
        for (etape, journalises, apres), fois in self.comptes.items():
            proposes = {
                d: Verdict(str(statut), montant, tranche, dec) for d, statut, montant, tranche, dec in apres
            }
            for dispositif in etape.evaluables:
                avant, libelle = journalises.verdicts[dispositif]
                verdict = avant if dispositif in etape.repris else proposes[dispositif]
                bilan.dispositif(dispositif, libelle).compter(avant, verdict, fois)
        self.comptes.clear()


def rejouer_decision(
    decision: DecisionRelue,
    contexte: Contexte,
    original: Reglement | None,
    bilan: Bilan,
    lignes: list[Changement],
) -> None:
    """One decision: (a) under its own règlement, integrity: it must give back exactly what the
    journal holds; (b) under the proposal, with the facts collected then — an aid the proposal
    leaves as it was at this date gets its verdict of (a), the same evaluation, not done twice.
    Counted into `bilan`; its lines for the CSV appended to `lignes`."""
    bilan.decisions += 1
    rejeu = decision.rejeu
    if rejeu is None:
        bilan.decisions_illisibles += 1
        return
    journalises = contexte.journalises(rejeu.resultats)
    if not journalises.aids:
        return
    if original is not None and _rejeu_courant(
        decision, rejeu, journalises, contexte, original=original, lignes=lignes
    ):
        return
    replay = _Rejeu(decision, rejeu, journalises.verdicts, contexte, bilan=bilan, lignes=lignes)
    rejoues = None
    if original is None:
        bilan.decisions_non_verifiables += 1
    else:
        rejoues = replay.integrite(original)
    replay.proposition(contexte.etape(original, decision.date_reference, journalises.aids), rejoues)


def _rejeu_courant(
    decision: DecisionRelue,
    rejeu: CopieRejeu,
    journalises: Journalises,
    contexte: Contexte,
    *,
    original: Reglement,
    lignes: list[Changement],
) -> bool:
    """The common case, done the short way: every aid reproduces its journaled verdict exactly
    (motif codes included) and the proposal can evaluate each with the facts collected then. The
    decision is then counted by what it gave (`Contexte.comptes`) and its changed aids appended
    to `lignes`. False, having counted nothing, for any other case: `_Rejeu` replays it again
    aid by aid, and says why (integrity alert, aid counted apart…)."""
    jour = decision.date_reference
    etape = contexte.etape(original, jour, journalises.aids)
    if journalises.attendu is None or etape.absents or etape.a_controler:
        return False
    try:
        faits = contexte.lecteur.faits(rejeu, original.catalogue, jour)
        plan = etape.plan_original
        if plan is None:
            plan = etape.plan_original = contexte.plan(original, jour, journalises.aids)
        if tuple(map(_ISSUE, plan.verdicts(faits))) != journalises.attendu:
            return False
        apres: tuple[Issue, ...] = ()
        if etape.a_evaluer:
            proposition = contexte.rejeu.proposition.reglement
            if proposition.catalogue is not original.catalogue:
                faits = contexte.lecteur.faits(rejeu, proposition.catalogue, jour)
            plan = etape.plan_propose
            if plan is None:
                plan = etape.plan_propose = contexte.plan(proposition, jour, etape.a_evaluer)
            apres = tuple(map(_ISSUE, plan.verdicts(faits)))
    except ERREURS_EVALUATION:
        return False
    if apres == etape.partie(journalises):
        # The proposal gives back the journaled verdicts: nothing to list, counted by identity.
        cle = (etape, journalises)
        contexte.inchanges[cle] = contexte.inchanges.get(cle, 0) + 1
        return True
    if len(apres) != len(etape.a_evaluer):
        return False
    contexte.comptes[(etape, journalises, apres)] += 1
    changes = []
    for d, statut, montant, tranche, decisives in apres:
        avant = journalises.verdicts[d][0]
        if avant.statut != statut or avant.montant != montant or avant.tranche != tranche:
            verdict = Verdict(str(statut), montant, tranche, decisives)
            changes.append((journalises.aids.index(d), Changement(
                decision.id, decision.dossier_ref, d, "changement", avant, verdict
            )))  # fmt: skip
    lignes += [ligne for _, ligne in sorted(changes, key=lambda c: c[0])]
    return True


class _Rejeu:
    """One decision being replayed (its journaled verdicts by aid, and where its counts go)."""

    __slots__ = ("_faits", "bilan", "contexte", "decision", "journalises", "lignes", "rejeu")

    def __init__(
        self,
        decision: DecisionRelue,
        rejeu: CopieRejeu,
        journalises: Mapping[str, tuple[Verdict, str]],
        contexte: Contexte,
        *,
        bilan: Bilan,
        lignes: list[Changement],
    ) -> None:
        self.decision = decision
        self.rejeu = rejeu
        self.journalises = journalises
        self.contexte = contexte
        self.bilan = bilan
        self.lignes = lignes
        #: The journaled facts as read by a catalogue (a proposal made of parameters shares the
        #: current règlement's catalogue: read once).
        self._faits: tuple[Catalogue, Faits] | None = None

    def faits(self, catalogue: Catalogue) -> Faits:
        if self._faits is None or self._faits[0] is not catalogue:
            self._faits = (catalogue, self.contexte.lecteur.faits(self.rejeu, catalogue))
        return self._faits[1]

    def ligne(
        self, dispositif: str, type_: str, apres: Verdict | None, raison: str | None = None
    ) -> Changement:
        d = self.decision
        return Changement(
            d.id, d.dossier_ref, dispositif, type_, self.journalises[dispositif][0], apres, raison
        )

    def integrite(self, original: Reglement) -> dict[str, Verdict] | None:
        """(a) Under its own règlement, the decision must give back exactly what the journal holds.
        Returns the verdicts replayed (None when they could not be worked out)."""
        raison = None
        rejoues: dict[str, Verdict] | None
        try:
            faits = self.faits(original.catalogue)
            rejoues = self.contexte.verdicts(
                original, faits, self.decision.date_reference, tuple(self.journalises)
            )
        except ERREURS_EVALUATION as e:
            rejoues, raison = None, f"rejeu impossible : {e}"
        for dispositif, (journalise, _) in self.journalises.items():
            rejoue = None if rejoues is None else rejoues.get(dispositif)
            if rejoue is None or not rejoue.reproduit(journalise):
                alerte = self.ligne(
                    dispositif, "alerte_integrite", rejoue, raison or "résultat journalisé non reproduit"
                )
                self.bilan.alerte(alerte)
                self.lignes.append(alerte)
        return rejoues

    def evaluables(self, etape: _Etape) -> tuple[str, ...]:
        """The aids the proposal can evaluate with the facts collected then; the others counted apart."""
        if not etape.absents and not etape.a_controler:
            return etape.evaluables
        collectes = self.rejeu.noms_collectes()
        retenus: list[str] = []
        for dispositif in self.journalises:
            if dispositif in etape.absents:
                self.non_evaluable(dispositif, _ABSENT)
            elif manquants := sorted(etape.a_controler.get(dispositif, frozenset()) - collectes):
                self.non_evaluable(dispositif, "donnée non collectée à l'époque : " + ", ".join(manquants))
            else:
                retenus.append(dispositif)
        return etape.evaluables if len(retenus) == len(etape.evaluables) else tuple(retenus)

    def proposition(self, etape: _Etape, rejoues: Mapping[str, Verdict] | None) -> None:
        """(b) Under the proposal, with the facts collected then. An aid the proposal leaves as it
        was (`etape.repris`) gets its verdict of (a), when (a) could be worked out."""
        evaluables = self.evaluables(etape)
        if not evaluables:
            return
        repris = etape.repris if rejoues is not None else frozenset()
        if evaluables is etape.evaluables and rejoues is not None:
            a_evaluer = etape.a_evaluer
        else:
            a_evaluer = tuple(d for d in evaluables if d not in repris)
        apres: Mapping[str, Verdict] = {}
        raison = "dispositif non évalué"
        if a_evaluer:
            proposition = self.contexte.rejeu.proposition.reglement
            try:
                faits = self.faits(proposition.catalogue)
                apres = self.contexte.verdicts(proposition, faits, self.decision.date_reference, a_evaluer)
            except ParametreSansValeur:
                # Every aid of (b) unevaluated, the reused ones too (as when evaluated together).
                repris, raison = (
                    frozenset(),
                    "paramètre du règlement proposé sans valeur à la date de référence",
                )
            except ERREURS_EVALUATION as e:
                repris, raison = frozenset(), f"faits journalisés illisibles : {e}"
        for dispositif in evaluables:
            verdict = (
                rejoues.get(dispositif)
                if rejoues is not None and dispositif in repris
                else apres.get(dispositif)
            )
            if verdict is None:
                self.non_evaluable(dispositif, raison)
                continue
            avant, libelle = self.journalises[dispositif]
            self.bilan.dispositif(dispositif, libelle).compter(avant, verdict)
            if not avant.meme_issue(verdict):
                self.lignes.append(self.ligne(dispositif, "changement", verdict))

    def non_evaluable(self, dispositif: str, raison: str) -> None:
        libelle = self.journalises[dispositif][1]
        self.bilan.dispositif(dispositif, libelle).non_evaluables[raison] += 1
        self.lignes.append(self.ligne(dispositif, "non_evaluable", None, raison))


def _bilan(rejeu: Rejeu) -> Bilan:
    reference = rejeu.proposition.reference
    return Bilan(
        du=rejeu.du,
        au=rejeu.au,
        proposition={"id": reference.id, "version": reference.version, "empreinte": reference.empreinte},
        date_effet=rejeu.proposition.date_effet,
    )


def _indisponible(e: BaseException) -> JournalUnavailable:
    logger.error("journal.read_failed", error_type=type(e).__name__)
    return JournalUnavailable("Le journal d'audit est indisponible : lecture impossible.")
