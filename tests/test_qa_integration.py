"""Regressions found by using the product end to end (exports, letters, history, send)."""

from __future__ import annotations

from openpyxl import load_workbook

from receivables.textformats import decode_text

CP1252_LEDGER = [
    ["Kunde", "Rechnung", "Fällig", "Offen", "E-Mail", "Adresse", "Währung"],
    ["Müller & Söhne GmbH", "R-1", "31.07.2026", "1.234,56", "ap@mueller.example",
     "Hauptstr. 1, 10115 Berlin, Germany", "EUR"],
    ["Müller & Söhne GmbH", "GS-7", "20.09.2026", "-300,00", "ap@mueller.example",
     "Hauptstr. 1, 10115 Berlin, Germany", "EUR"],
    ["Señor Pérez S.L.", "R-4", "01.10.2026", "450,00", "",
     "Calle Mayor 5, 28013 Madrid, Spain", "EUR"],
]


def test_short_cp1252_export_keeps_spanish_letters(tmp_path, run_json):
    """A short cp1252 export is not read as cp1250 (Señor would become Seńor)."""
    path = tmp_path / "ledger.csv"
    path.write_bytes("\r\n".join(";".join(r) for r in CP1252_LEDGER).encode("cp1252"))
    result = run_json("process", path, "--as-of", "2026-10-31")
    book = load_workbook(result["output"])
    names = {row[0] for row in book["ledger"].iter_rows(min_row=2, values_only=True)}
    assert "Señor Pérez S.L." in names
    assert any("CP1252" in issue["message"] for issue in result["issues"])


def test_central_european_exports_still_read_as_cp1250():
    """Hungarian and Polish text in cp1250 keeps its own letters (ő, ű, ł, ń)."""
    hungarian = "Kovács Kft.;Győr;Szőlő utca;Fűtés;tartozás\n"
    polish = "Łódź;Kraków;Gdańsk;Józef Wałęsa;ulica\n"
    assert decode_text(hungarian.encode("cp1250")) == (hungarian, "CP1250")
    assert decode_text(polish.encode("cp1250")) == (polish, "CP1250")
    spanish = "Señor Muñoz;España;Año;niño\n"
    assert decode_text(spanish.encode("cp1252")) == (spanish, "CP1252")
