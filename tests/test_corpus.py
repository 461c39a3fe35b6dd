"""Every workbook of the shared corpus, and a few hostile ones made here, through the CLI.

Real files collected from Apache POI, calamine and openpyxl (see
``../shared/corpus/MANIFEST.md``): encrypted, truncated, empty, strict OOXML, BIFF4/5/8,
XML bombs, 1,024 sheets, 50,000 merged cells, declared million-row ranges. Whatever the
file, ``receivables process`` must end with exit code 0 or 1, never a traceback, with a
message that says what is wrong, within a time bound and bounded memory.

The CLI runs in a worker subprocess (this file, run as a script) that imports the
package once and processes the files one after another, reporting each as a JSON line:
exit code, output, seconds and peak RSS (the kernel's high-water mark, reset before
each file). The parent enforces a timeout per file; a worker that hangs or dies (a
Rust abort, say) is recorded against the file it was on and replaced. Starting one
interpreter per file would cost ~1 s each, 70 s for the corpus, for no extra
isolation. A few files also go through the installed console script itself.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import selectors
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "workbooks"
AS_OF = "2026-10-31"
SECONDS_PER_FILE = 20.0  # a 2-core CI machine; real files take well under 2 s
PEAK_RSS_MB = 700  # the interpreter with pandas alone is ~150 MB
SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xls", ".xlsb", ".ods")

# Files whose problem is known: the message must name it.
EXPECTED_MESSAGES = {
    "pass_protected.xlsx": "password-protected",
    "protected_sha512.xlsx": "password-protected",
    "protected_passtika.xlsb": "password-protected",
    "password.xls": "password-protected",
    "xor-encryption-abc.xls": "password-protected",
    "poc-xmlbomb.xlsx": "XML entity declarations",
    "clusterfuzz-testcase-minimized-XLSX2CSVFuzzer-5636439151607808.xlsx": "damaged",
    "invalid.xlsx": "not a workbook",
    "null_archive.xlsx": "not a workbook",
    "null_file.xlsx": "empty (0 bytes)",
    "too_small.xls": "not an Excel or OpenDocument workbook",
    "testEXCEL_4.xls": "Excel 2.1-4.0",
    "xlsx-corrupted.xlsx": "damaged",
    "far_cell.xlsx": "XFD1048576",
    "far_cell.xlsb": "XFD1048576",
    "far_rows.ods": "more than the",
    "far_cell.xls": "IV65536",
    "zip_bomb.xlsx": "zip bomb",
    "external_entity.xlsx": "XML entity declarations",
    "truncated.xlsx": "damaged",
}
# Words of a message that explains itself (every InputError names the file, too).
EXPLAINS = re.compile(
    r"password|damaged|not a workbook|empty|not an Excel|refused|no readable items|"
    r"looks like a receivables ledger|lacks required columns|cannot be read|more than the|"
    r"format from before 1995|zip bomb",
    re.IGNORECASE,
)


def corpus_files() -> list[Path]:
    """Every workbook of the shared corpus (empty when it is not checked out)."""
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def make_hostile_files(folder: Path) -> list[Path]:
    """Hostile files the corpus lacks: far cells in each zip format, a zip bomb, an
    external entity, a truncated package."""
    from openpyxl import Workbook

    from messy import write_messy, write_xlsb

    folder.mkdir(parents=True, exist_ok=True)
    made = []
    book = Workbook()
    sheet = book.active
    sheet.append(["Customer", "Due date", "Balance"])
    sheet.append(["A", "2026-09-15", 10])
    sheet["XFD1048576"] = 1  # calamine would allocate 17 billion cells for this
    book.save(folder / "far_cell.xlsx")
    made.append(folder / "far_cell.xlsx")
    rows: list[list[object]] = [["Customer", "Due date", "Balance"], ["A", "2026-09-15", 10.0]]
    made.append(write_xlsb(folder / "far_cell.xlsb", [("Ledger", rows)]))
    _add_far_xlsb_cell(made[-1])
    made.append(_far_rows_ods(folder / "far_rows.ods"))
    source_xls = CORPUS / "poi" / "TwoSheetsOneHidden.xls"
    if source_xls.is_file():
        made.append(_far_cell_xls(source_xls, folder / "far_cell.xls"))
    with zipfile.ZipFile(folder / "zip_bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 * 1024 * 1024))
    made.append(folder / "zip_bomb.xlsx")
    ledger = write_messy(folder, "en")
    made.append(ledger.path)  # a real ledger: exit code 0
    made.append(
        _with_part(
            ledger.path,
            folder / "external_entity.xlsx",
            "xl/sharedStrings.xml",
            b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY x SYSTEM '
            b'"file:///etc/passwd">]><sst><si><t>&x;</t></si></sst>',
        )
    )
    truncated = folder / "truncated.xlsx"
    truncated.write_bytes(ledger.path.read_bytes()[: ledger.path.stat().st_size // 2])
    made.append(truncated)
    return made


def _add_far_xlsb_cell(path: Path) -> None:
    """Append a value in XFD1048576 to the first sheet of a write_xlsb workbook."""
    import struct

    from messy import biff12_record

    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    sheet = parts["xl/worksheets/sheet1.bin"]
    end = biff12_record(0x0092) + biff12_record(0x0082)
    assert sheet.endswith(end)
    far = biff12_record(
        0x0000, struct.pack("<IIHBBBI", 1048575, 0, 300, 0, 0, 0, 0)
    ) + biff12_record(0x0005, struct.pack("<IId", 16383, 0, 1.0))
    parts["xl/worksheets/sheet1.bin"] = sheet[: -len(end)] + far + end
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def _far_cell_xls(source: Path, target: Path) -> Path:
    """A BIFF8 workbook whose first cell record is moved to IV65536, the last cell."""
    import shutil
    import struct

    import olefile

    shutil.copyfile(source, target)
    with olefile.OleFileIO(str(target), write_mode=True) as ole:
        stream = bytearray(ole.openstream("Workbook").read())
        position, globals_done = 0, False
        while position + 4 <= len(stream):
            record, length = struct.unpack_from("<HH", stream, position)
            if record == 0x000A:
                globals_done = True
            elif globals_done and record in (0x0203, 0x00FD, 0x0204, 0x027E):
                struct.pack_into("<HH", stream, position + 4, 65535, 255)
                break
            position += 4 + length
        else:
            raise AssertionError("no cell record to move")
        ole.write_stream("Workbook", bytes(stream))
    return target


def _far_rows_ods(path: Path) -> Path:
    """An .ods whose one value row repeats a million times across 1,024 columns."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Ledger">'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Customer</text:p>'
        "</table:table-cell></table:table-row>"
        '<table:table-row table:number-rows-repeated="1048575">'
        '<table:table-cell table:number-columns-repeated="1024" office:value-type="float"'
        ' office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type='
        '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
        'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "mimetype",
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return path


def _with_part(source: Path, target: Path, part: str, data: bytes) -> Path:
    with zipfile.ZipFile(source) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts[part] = data
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return target


# ------------------------------------------------------------------------ the worker


def _peak_kb() -> int:
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    except (OSError, AttributeError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> None:
    # Linux: writing 5 resets the high-water mark, so each file gets its own peak.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def worker(paths: list[str], out_dir: str) -> None:
    """Run ``receivables process`` on each path in turn, one JSON line per file."""
    from receivables.cli import main

    for number, path in enumerate(paths):
        print(json.dumps({"start": path}), flush=True)
        stdout, stderr = io.StringIO(), io.StringIO()
        _reset_peak()
        started = time.perf_counter()
        code: int | str = 0
        error = ""
        args = [
            "process",
            path,
            "-o",
            os.path.join(out_dir, f"out{number}.xlsx"),
            "--as-of",
            AS_OF,
            "--json",
        ]
        if path.lower().endswith((".xlsm", ".xltm")):
            args[3] = os.path.join(out_dir, f"out{number}.xlsm")
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                main(args, standalone_mode=False)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # what the console script would print as a traceback
            code = "exception"
            error = traceback.format_exc()
        seconds = time.perf_counter() - started
        # Then every sheet in full, as --sheet would read it: refused or read, never a crash.
        sheets_read, sheet_error = _read_every_sheet(path)
        print(
            json.dumps(
                {
                    "file": path,
                    "code": code,
                    "stdout": stdout.getvalue(),
                    "stderr": stderr.getvalue() + error,
                    "seconds": seconds,
                    "peak_mb": _peak_kb() / 1024,
                    "sheets_read": sheets_read,
                    "sheet_error": sheet_error,
                }
            ),
            flush=True,
        )


def _read_every_sheet(path: str) -> tuple[int, str]:
    """Read up to 50 worksheets of ``path`` whole: (sheets read, unexpected error)."""
    from receivables.core.issues import InputError
    from receivables.reader import open_workbook

    read = 0
    try:
        opened = open_workbook(Path(path))
        for sheet in [s for s in opened.sheets if s.is_worksheet][:50]:
            try:
                opened.grid(sheet.name)
                read += 1
            except InputError:
                pass
    except InputError:
        pass
    except BaseException:
        return read, traceback.format_exc()
    return read, ""


def run_all(paths: list[Path], out_dir: Path, timeout: float = SECONDS_PER_FILE) -> dict:
    """Results per file name, restarting the worker after a hang or a crash."""
    results: dict[str, dict] = {}
    pending = [str(p) for p in paths]
    while pending:
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(
                [sys.executable, __file__, "--worker", str(out_dir), *pending],
                stdout=subprocess.PIPE,
                stderr=errors,
                cwd=ROOT,
                text=True,
                env={**os.environ, "PYTHONFAULTHANDLER": "1"},
            )
            selector = selectors.DefaultSelector()
            selector.register(process.stdout, selectors.EVENT_READ)
            current, deadline = None, time.monotonic() + 60  # the first import is slow
            while True:
                if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    process.kill()
                    process.wait()
                    if current is None:
                        raise RuntimeError("the corpus worker did not start")
                    results[Path(current).name] = {
                        "code": "timeout",
                        "stderr": "",
                        "seconds": timeout,
                        "peak_mb": 0.0,
                    }
                    break
                line = process.stdout.readline()
                if not line:  # the worker ended: normally, or killed by a crash
                    process.wait()
                    if current is not None:
                        errors.seek(0)
                        results[Path(current).name] = {
                            "code": f"crash ({process.returncode})",
                            "seconds": 0.0,
                            "stderr": errors.read().decode("utf-8", "replace")[-2000:],
                            "peak_mb": 0.0,
                        }
                    break
                message = json.loads(line)
                if "start" in message:
                    current = message["start"]
                    deadline = time.monotonic() + timeout
                else:
                    results[Path(message["file"]).name] = message
                    pending.remove(message["file"])
                    current = None
            if current is not None:
                pending.remove(current)
            selector.close()
            process.stdout.close()
    return results


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every corpus file and every generated hostile file, processed once."""
    files = corpus_files()
    if not files:
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    hostile = make_hostile_files(tmp_path_factory.mktemp("hostile"))
    outcome = run_all(files + hostile, tmp_path_factory.mktemp("outputs"))
    summary = sorted(outcome.items(), key=lambda kv: -kv[1]["seconds"])
    print(
        "\nslowest:",
        [(name, round(r["seconds"], 2), round(r["peak_mb"])) for name, r in summary[:5]],
    )
    return outcome


HOSTILE = (
    "far_cell.xlsx",
    "far_cell.xlsb",
    "far_rows.ods",
    "far_cell.xls",
    "zip_bomb.xlsx",
    "messy_en.xlsx",
    "external_entity.xlsx",
    "truncated.xlsx",
)


def test_every_file_was_run(results):
    names = {p.name for p in corpus_files()}
    assert len(names) == len(corpus_files()), "two corpus files share a name"
    assert set(results) == names | set(HOSTILE)
    assert len(names) >= 70


def test_exit_code_is_0_or_1_without_traceback(results):
    bad = {
        name: (r["code"], r["stderr"][-500:])
        for name, r in results.items()
        if r["code"] not in (0, 1) or "Traceback" in r["stderr"] + r.get("stdout", "")
    }
    assert not bad


def test_failures_say_what_is_wrong(results):
    for name, result in results.items():
        if result["code"] != 1:
            continue
        message = result["stderr"].strip()
        assert message, name
        assert EXPLAINS.search(message), (name, message)
        # One paragraph (the CLI wraps it at 100 columns) that names the file.
        assert "\n\n" not in message and len(message) < 1200, (name, message)
        assert name in message.replace("\n", "") or name in message.replace("\n", " "), (
            name,
            message,
        )


def test_known_problems_are_named(results):
    for name, words in EXPECTED_MESSAGES.items():
        if name not in results:
            continue
        result = results[name]
        assert result["code"] == 1, (name, result)
        assert words in result["stderr"].replace("\n", " "), (name, result["stderr"])


def test_every_sheet_reads_whole_or_is_refused(results):
    assert {n: r["sheet_error"] for n, r in results.items() if r.get("sheet_error")} == {}
    assert sum(r.get("sheets_read", 0) for r in results.values()) > 100


def test_the_generated_ledger_among_them_succeeds(results):
    result = results["messy_en.xlsx"]
    assert result["code"] == 0, result["stderr"]
    assert json.loads(result["stdout"])["rows"] == 13


def test_time_and_memory_per_file_are_bounded(results):
    slow = {
        n: round(r["seconds"], 2) for n, r in results.items() if r["seconds"] > SECONDS_PER_FILE
    }
    heavy = {n: round(r["peak_mb"]) for n, r in results.items() if r["peak_mb"] > PEAK_RSS_MB}
    assert not slow and not heavy


@pytest.mark.parametrize("name", ["poi/poc-xmlbomb.xlsx", "calamine/issue_174.xlsx"])
def test_the_console_script_itself(name, tmp_path):
    """The installed ``receivables`` command, in its own process, on the worst files."""
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    script = Path(sys.executable).with_name("receivables")
    started = time.monotonic()
    done = subprocess.run(
        [str(script), "process", str(path), "-o", str(tmp_path / "o.xlsx"), "--as-of", AS_OF],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.monotonic() - started < SECONDS_PER_FILE
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert path.name in done.stderr.replace("\n", " ")


if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[1] == "--worker":
    worker(sys.argv[3:], sys.argv[2])
