"""`eg reglement impact` on a real SQLite journal: the French summary, the changed decisions as CSV,
the summary as HTML and PDF, and the refusals (exit code 2, one French line)."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import cli
from app.config import DEMO_ORGANISME_SIRET, PROJECT_ROOT, get_settings
from app.container import trousseau_journal
from app.db.engine import create_engine_from_url
from tests.services.impact.journal_exemple import foyers, journaliser

FOYERS = foyers(40, graine=9)
ENTRE = [f for f in FOYERS if 600 < f.qf <= 650]
PROPOSITION = PROJECT_ROOT / "docs" / "exemples" / "proposition-plafond-650.yaml"


@pytest.fixture
def journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GATEWAY_MODE", "sandbox")
    monkeypatch.setenv("ORGANISME_API_PARTICULIER_TOKEN", "jeton-du-ccas")
    get_settings.cache_clear()
    code = cli.main(
        [
            "organisme",
            "create",
            "--id",
            "ccas-a",
            "--nom",
            "CCAS <A>",
            "--siret",
            DEMO_ORGANISME_SIRET,
            "--reglement",
            "demo.yaml",
        ]
    )
    assert code == 0, capsys.readouterr()

    async def seed() -> None:
        engine = create_engine_from_url(url)
        try:
            await journaliser(engine, FOYERS, "ccas-a", trousseau=trousseau_journal(get_settings()))
        finally:
            await engine.dispose()

    asyncio.run(seed())
    capsys.readouterr()
    yield url
    get_settings.cache_clear()


def test_summary_csv_html_and_pdf(journal: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ENTRE
    sorties = {nom: tmp_path / f"bilan.{nom}" for nom in ("csv", "html", "pdf")}
    code = cli.main(
        [
            "reglement", "impact", "--proposition", str(PROPOSITION),
            "--du", "2026-01-01", "--au", "2026-11-30",
            "--csv", str(sorties["csv"]), "--html", str(sorties["html"]), "--pdf", str(sorties["pdf"]),
        ]
    )  # fmt: skip
    out, _ = capsys.readouterr()
    assert code == 0, out
    assert f"{len(FOYERS)} décision(s) rejouée(s)" in out
    assert f"aide-alimentaire : {len(ENTRE)} résultat(s) de « non éligible » à « éligible »" in out
    assert "Intégrité : chaque décision rejouée redonne exactement son résultat journalisé." in out
    with sorties["csv"].open(encoding="utf-8") as fichier:
        lignes = list(csv.DictReader(fichier))
    assert sorted(ligne["dossier_ref"] for ligne in lignes) == sorted(
        f"D-{FOYERS.index(f):05d}" for f in ENTRE
    )
    page = sorties["html"].read_text(encoding="utf-8")
    assert "CCAS &lt;A&gt;" in page  # autoescaped
    assert f"{len(ENTRE)} résultat(s) passent de « non éligible » à « éligible »" in page
    assert sorties["pdf"].read_bytes().startswith(b"%PDF-")


def test_refusals_are_one_french_line_and_exit_code_2(
    journal: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [
        "reglement",
        "impact",
        "--proposition",
        str(PROPOSITION),
        "--du",
        "2026-01-01",
        "--au",
        "2026-11-30",
    ]
    assert cli.main([*base, "--organisme", "ccas-inconnu"]) == 2
    assert "organisme inconnu" in capsys.readouterr().err
    assert cli.main([*base[:-4], "--du", "2026-12-01", "--au", "2026-11-30"]) == 2
    assert "erreur : du : la période commence après sa fin" in capsys.readouterr().err
    casse = tmp_path / "casse.yaml"
    casse.write_text("reglement:\n  id: [", encoding="utf-8")
    assert (
        cli.main(
            ["reglement", "impact", "--proposition", str(casse), "--du", "2026-01-01", "--au", "2026-11-30"]
        )
        == 2
    )
    assert "erreur : reglement : " in capsys.readouterr().err
