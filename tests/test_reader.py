"""The reader's formats, encryption and hostile files (design.md §3 and the issue's list).

Formats: the Spanish messy ledger as .xlsx, .xls and .ods (converted by LibreOffice),
.xlsb (written by ``messy.write_xlsb``) and .xlsm (with a real VBA project) must give
the same items, and outputs are .xlsx (.xlsm for macros, the project byte for byte).
Encryption: a clear error without the password, the file with it, Excel's default
password silently. Hostile files: entity declarations refused before any parsing, external
references never fetched, far cells, truncated and fake zips refused with a message.
"""

from __future__ import annotations

import http.server
import io
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from receivables.core.issues import InputError
from receivables.pipeline import run
from receivables.reader import MAX_SHEET_CELLS, open_workbook

from messy import (
    AS_OF,
    MessyLedger,
    add_vba_project,
    write_messy,
    write_messy_xlsb,
    write_xlsb,
)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "workbooks"
STAGE_HEADERS = ["Days Overdue", "Aging Bucket", "Stage", "Next Action"]


def corpus(name: str) -> Path:
    """A corpus file, or skip the test when the corpus is not checked out."""
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path


def items_of(report) -> dict[int, tuple]:
    return {
        int(r.row): (r.customer, r.invoice, r.due_date.date(), r.balance_cents, r.currency, r.stage)
        for r in report.outcome.classified.itertuples()
    }


def expected_items(ledger: MessyLedger) -> dict[int, tuple]:
    return {
        i.row: (i.customer, i.invoice, i.due, i.balance_cents, i.currency, i.stage)
        for i in ledger.items
    }


def sheet_rows(path: Path, sheet: str) -> list[list[object]]:
    return (
        CalamineWorkbook.from_path(str(path))
        .get_sheet_by_name(sheet)
        .to_python(skip_empty_area=False)
    )


# ------------------------------------------------------------------------------ formats


@pytest.fixture(scope="module")
def spanish(tmp_path_factory) -> MessyLedger:
    return write_messy(tmp_path_factory.mktemp("es"), "es")


@pytest.fixture(scope="module")
def converted(spanish, tmp_path_factory):
    """The Spanish ledger saved by LibreOffice as .ods and .xls."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    folder = tmp_path_factory.mktemp("converted")
    profile = (folder / "profile").as_uri()  # a private profile: no clash with other runs
    for target in ("ods", "xls"):
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={profile}",
                "--headless",
                "--convert-to",
                target,
                "--outdir",
                str(folder),
                str(spanish.path),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    return {suffix: folder / f"{spanish.path.stem}.{suffix}" for suffix in ("ods", "xls")}


@pytest.mark.parametrize("suffix", ["ods", "xls"])
def test_libreoffice_formats_give_the_same_items(spanish, converted, suffix, tmp_path):
    source = converted[suffix]
    output = tmp_path / "out.xlsx"
    report = run(source, output, AS_OF)
    assert (report.sheet, report.header_row) == ("Octubre", 4)
    assert items_of(report) == expected_items(spanish)
    assert [
        (i.where, i.message) for i in report.outcome.ledger.issues if i.severity.value == "warning"
    ] == spanish.warnings
    assert zipfile.is_zipfile(output)
    rows = sheet_rows(output, "Octubre")
    assert rows[3][9:13] == STAGE_HEADERS
    assert {"Notas", "Octubre", "Collection Plan", "Exceptions"} <= set(
        CalamineWorkbook.from_path(str(output)).sheet_names
    )
    assert any("input: the output holds the values" in i.message for i in report.issues)


def test_xlsb_gives_the_same_items_and_an_xlsx_output(tmp_path):
    ledger = write_messy_xlsb(tmp_path, "es")
    opened = open_workbook(ledger.path)
    assert opened.kind == "xlsb" and not opened.is_ooxml
    output = tmp_path / "out.xlsx"
    report = run(ledger.path, output, AS_OF)
    assert items_of(report) == expected_items(ledger)
    rows = sheet_rows(output, "Octubre")
    assert rows[3][9:13] == STAGE_HEADERS
    assert rows[16][:4] == ["Clínica Dental Sonrisa", "FV-2026-0110", rows[16][2], "31/02/2026"]


def test_xlsb_1904_serials_are_read_in_their_system(tmp_path):
    ledger = write_messy_xlsb(tmp_path, "en", date1904=True)
    assert open_workbook(ledger.path).date1904
    report = run(ledger.path, None, AS_OF, write=False)
    found = {int(r.row): r.invoice_date.date() for r in report.outcome.classified.itertuples()}
    assert found == {item.row: item.invoice_date for item in ledger.items}


def test_1904_xls_and_xlsx_from_the_corpus():
    assert open_workbook(corpus("poi/1904DateWindowing.xls")).date1904
    assert open_workbook(corpus("calamine/date_1904.xlsx")).date1904
    assert not open_workbook(corpus("calamine/date.xlsx")).date1904


def test_xlsm_keeps_its_vba_project_byte_for_byte(tmp_path):
    with zipfile.ZipFile(corpus("poi/SimpleMacro.xlsm")) as archive:
        vba = archive.read("xl/vbaProject.bin")
    ledger = write_messy(tmp_path, "en")
    xlsm = tmp_path / "ledger.xlsm"
    xlsm.write_bytes(add_vba_project(ledger.path.read_bytes(), vba))
    opened = open_workbook(xlsm)
    assert opened.has_macros and opened.is_ooxml
    with pytest.raises(InputError, match="contains macros.*xlsm"):
        run(xlsm, tmp_path / "out.xlsx", AS_OF)
    report = run(xlsm, None, AS_OF)  # default name: ledger.collections.xlsm
    assert report.output == tmp_path / "ledger.collections.xlsm"
    with zipfile.ZipFile(report.output) as archive:
        assert archive.read("xl/vbaProject.bin") == vba
        types = archive.read("[Content_Types].xml").decode()
    assert "macroEnabled" in types
    assert items_of(report) == expected_items(ledger)


# ---------------------------------------------------------------------------- passwords


@pytest.mark.parametrize(
    "name",
    [
        "calamine/pass_protected.xlsx",
        "poi/protected_sha512.xlsx",
        "poi/password.xls",
        "poi/protected_passtika.xlsb",
    ],
)
def test_encrypted_files_ask_for_the_password(name, cli, tmp_path):
    code, out, err = cli(
        "process", corpus(name), "-o", tmp_path / "o.xlsx", "--as-of", AS_OF.isoformat()
    )
    assert code == 1 and not out
    text = err.replace("\n", " ")
    assert f"{Path(name).name} is password-protected: give its password with --password" in text


def test_a_wrong_password_is_named(cli, tmp_path):
    code, _, err = cli(
        "process", corpus("poi/password.xls"), "-o", tmp_path / "o.xlsx", "--password", "nope"
    )
    assert code == 1
    assert "the password given does not open it" in err.replace("\n", " ")


@pytest.mark.parametrize(
    ("name", "password", "text"),
    [
        ("poi/password.xls", "password", None),
        ("poi/protected_passtika.xlsb", "tika", "You can't see me"),
        ("poi/xor-encryption-abc.xls", "abc", None),
    ],
)
def test_the_right_password_opens_the_file(name, password, text):
    opened = open_workbook(corpus(name), password=password)
    assert opened.decrypted
    worksheets = [s.name for s in opened.sheets if s.is_worksheet]
    values = [
        value for row in opened.grid(worksheets[0]).rows for value in row if value not in (None, "")
    ]
    assert values
    if text:
        assert text in values


def test_excel_default_password_opens_silently(cli, tmp_path):
    """protect.xlsx is encrypted with 'VelvetSweatshop': Excel opens it without asking."""
    opened = open_workbook(corpus("poi/protect.xlsx"))
    assert opened.decrypted and opened.kind == "ooxml"
    assert [s.name for s in opened.sheets][:1] == ["Лист1"]
    assert opened.grid("Лист1").rows  # real cells, decrypted
    code, _, err = cli("process", corpus("poi/protect.xlsx"), "-o", tmp_path / "o.xlsx")
    assert code == 1 and "password" not in err  # it opens; it is just not a ledger


def test_a_decrypted_ledger_is_processed_and_written_without_password(tmp_path):
    msoffcrypto = pytest.importorskip("msoffcrypto")
    from msoffcrypto.format.ooxml import OOXMLFile

    ledger = write_messy(tmp_path, "hu")
    encrypted = tmp_path / "titkos.xlsx"
    with ledger.path.open("rb") as plain, encrypted.open("wb") as sink:
        OOXMLFile(plain).encrypt("jelszó", sink)
    assert msoffcrypto.OfficeFile(encrypted.open("rb")).is_encrypted()
    with pytest.raises(InputError, match="password-protected"):
        run(encrypted, tmp_path / "o.xlsx", AS_OF)
    report = run(encrypted, tmp_path / "o.xlsx", AS_OF, password="jelszó")
    assert items_of(report) == expected_items(ledger)
    assert zipfile.is_zipfile(tmp_path / "o.xlsx")  # written in the clear
    assert any(
        "password-protected; the output is written without a password" in i.message
        for i in report.issues
    )


# ------------------------------------------------------------------------ hostile files


def _replace_parts(source: Path, target: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as archive:
        content = {info.filename: archive.read(info) for info in archive.infolist()}
    content.update(parts)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in content.items():
            archive.writestr(name, data)
    return target


def test_the_corpus_xml_bomb_is_refused_before_any_parsing():
    started = time.monotonic()
    with pytest.raises(InputError) as error:
        open_workbook(corpus("poi/poc-xmlbomb.xlsx"))
    assert time.monotonic() - started < 2
    assert "XML entity declarations in xl/sharedStrings.xml" in str(error.value)
    assert "nothing was expanded" in str(error.value)


def test_a_billion_laughs_in_a_real_ledger_is_refused(tmp_path):
    ledger = write_messy(tmp_path, "es")
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
            for n in range(1, 10)
        )
        + b']>\n<sst xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>'
    )
    # A comment before the DOCTYPE must not hide it.
    bomb = bomb.replace(b"?>\n", b"?>\n<!-- " + b"x" * 2000 + b" -->\n", 1)
    hostile = _replace_parts(ledger.path, tmp_path / "bomb.xlsx", {"xl/sharedStrings.xml": bomb})
    with pytest.raises(InputError, match="XML entity declarations in xl/sharedStrings.xml"):
        run(hostile, tmp_path / "o.xlsx", AS_OF)
    assert not (tmp_path / "o.xlsx").exists()


@pytest.fixture
def listener():
    """A local HTTP server that records every request made to it."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<?xml version="1.0"?><x/>')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def test_external_schemas_and_links_are_never_fetched(tmp_path, listener, cli):
    url, requests = listener
    with zipfile.ZipFile(corpus("poi/xxe_in_schema.xlsx")) as archive:
        maps = archive.read("xl/xmlMaps.xml").replace(
            b"http://localhost", f"{url}/schema.xsd".encode()
        )
    ledger = write_messy(tmp_path, "en")
    with zipfile.ZipFile(ledger.path) as archive:
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
        types = archive.read("[Content_Types].xml").decode()
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdMap" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/xmlMaps" Target="xmlMaps.xml"/>'
        '<Relationship Id="rIdLink" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/hyperlink" '
        f'Target="{url}/link" TargetMode="External"/></Relationships>',
    )
    types = types.replace(
        "</Types>", '<Override PartName="/xl/xmlMaps.xml" ContentType="application/xml"/></Types>'
    )
    hostile = _replace_parts(
        ledger.path,
        tmp_path / "maps.xlsx",
        {
            "xl/xmlMaps.xml": maps,
            "xl/_rels/workbook.xml.rels": rels.encode(),
            "[Content_Types].xml": types.encode(),
        },
    )
    output = tmp_path / "out.xlsx"
    code, _, err = cli("process", hostile, "-o", output, "--as-of", AS_OF.isoformat())
    assert code == 0, err
    with zipfile.ZipFile(output) as archive:
        assert archive.read("xl/xmlMaps.xml") == maps  # kept, untouched
    # An external entity is refused outright.
    entity = _replace_parts(
        ledger.path,
        tmp_path / "xxe.xlsx",
        {
            "xl/sharedStrings.xml": f'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY e SYSTEM '
            f'"{url}/entity">]><sst><si><t>&e;</t></si></sst>'.encode()
        },
    )
    code, _, err = cli("process", entity, "-o", tmp_path / "o2.xlsx")
    assert code == 1 and "XML entity declarations" in err.replace("\n", " ")
    time.sleep(0.2)
    assert requests == []


def test_the_corpus_xxe_file_is_read_without_fetching(cli, tmp_path):
    code, _, err = cli("process", corpus("poi/xxe_in_schema.xlsx"), "-o", tmp_path / "o.xlsx")
    assert code == 1 and "looks like a receivables ledger" in err.replace("\n", " ")


def _run_isolated(path: Path, tmp_path: Path, memory_mb: int = 3000):
    """``receivables process`` in a child with a memory cap: a crash cannot take pytest."""
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({memory_mb} << 20, {memory_mb} << 20))\n"
        "from receivables.cli import main\n"
        "sys.argv = ['receivables', 'process', sys.argv[1], '-o', sys.argv[2]]\n"
        "main()\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), str(tmp_path / "o.xlsx")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, time.monotonic() - started


def test_a_value_in_the_last_cell_is_refused_not_allocated(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Customer", "Due date", "Balance"])
    book.active.append(["A", "2026-09-15", 10])
    book.active["XFD1048576"] = 1
    path = tmp_path / "far.xlsx"
    book.save(path)
    done, seconds = _run_isolated(path, tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "values as far as cell XFD1048576" in done.stderr.replace("\n", " ")
    assert "Traceback" not in done.stderr and seconds < 20


def test_a_far_cell_in_xlsb_is_refused(tmp_path):
    rows: list[list[object]] = [["Customer", "Due date", "Balance"]]
    rows += [[None]] * 5000 + [[None] * 3000 + [1.0]]  # 5,002 rows x 3,001 columns
    path = write_xlsb(tmp_path / "wide.xlsb", [("Ledger", rows)])
    assert open_workbook(path).extent("Ledger") == (5002, 3001)
    assert MAX_SHEET_CELLS < 5002 * 3001
    done, _ = _run_isolated(path, tmp_path)
    assert done.returncode == 1 and "DKK5002" in done.stderr


def test_formatting_only_cells_and_declared_dimensions_do_not_count():
    opened = open_workbook(corpus("poi/57893-many-merges.xlsx"))  # 50,000 merges, no values
    assert opened.extent("Sheet1")[0] * opened.extent("Sheet1")[1] <= 150_000
    issue = open_workbook(corpus("calamine/issue_174.xlsx"))  # declares A1:XFD1048576
    assert issue.extent("Sheet1") == (2, 11)
    assert open_workbook(corpus("poi/59746_NoRowNums.xlsx")).extent("Features") == (71, 11)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty (0 bytes)"),
        (b"PK\x03\x04" + b"\x00" * 200, "is damaged: it is not a complete zip package"),
        (b"Attachment: not really a workbook", "is not an Excel or OpenDocument workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "cannot be read as a workbook"),
    ],
)
def test_broken_files_get_one_clear_message(tmp_path, cli, content, message):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    code, out, err = cli("process", path, "-o", tmp_path / "o.xlsx")
    assert code == 1 and not out
    assert message in err.replace("\n", " ") and "Traceback" not in err


def test_truncated_real_ledger(tmp_path, cli):
    ledger = write_messy(tmp_path, "de")
    data = ledger.path.read_bytes()
    for cut in (len(data) // 3, len(data) - 30):
        path = tmp_path / f"cut{cut}.xlsx"
        path.write_bytes(data[:cut])
        code, _, err = cli("process", path, "-o", tmp_path / "o.xlsx")
        assert code == 1 and "damaged" in err


def test_zip_bomb_is_refused_without_inflating(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" * (64 * 1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(InputError, match="refused as a zip bomb"):
        open_workbook(path)


def test_a_package_without_relationships_is_refused_clearly(tmp_path, cli):
    ledger = write_messy(tmp_path, "fr")
    buffer = io.BytesIO()
    with zipfile.ZipFile(ledger.path) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            if info.filename != "_rels/.rels":
                target.writestr(info.filename, source.read(info))
    path = tmp_path / "norels.xlsx"
    path.write_bytes(buffer.getvalue())
    code, _, err = cli("process", path, "-o", tmp_path / "o.xlsx")
    assert code == 1 and "norels.xlsx cannot be read as a workbook: it is damaged" in err


def test_a_prefetched_sheet_reads_as_one_read_in_place(tmp_path):
    """prefetch() parses in a background thread; the grids are the same as without it."""
    path = write_messy(tmp_path, "es").path
    plain, early = open_workbook(path), open_workbook(path)
    for sheet in early.sheets:
        early.prefetch(sheet.name)
    for sheet in plain.sheets:
        assert early.grid(sheet.name, nrows=30).rows == plain.grid(sheet.name, nrows=30).rows
        assert early.grid(sheet.name).rows == plain.grid(sheet.name).rows
