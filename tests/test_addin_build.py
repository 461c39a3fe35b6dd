"""Tests of the reproducible ``Collections.xlam`` build.

Everything is checked with independent, real implementations: olefile reads the Compound
File, oletools decodes the VBA, xmlschema validates the ribbon against Microsoft's
customUI14.xsd, and LibreOffice imports the VBA project.
"""

from __future__ import annotations

import html
import importlib.metadata
import io
import os
import random
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import olefile
import pytest
from lxml import etree
from oletools.olevba import VBA_Parser, decompress_stream

from receivables.addin import build
from receivables.addin.buttons import BUTTONS, Button, button

SCHEMA = Path(__file__).parents[2] / "shared" / "schemas" / "customui14.xsd"
XLWINGS_VERSION = importlib.metadata.version("xlwings")
MODULES = {"ThisWorkbook", "Dictionary", "CollectionsRibbon", "Sheet2", "xlwings"}
DISPATCH_CALL = (
    'RunPython "import receivables.addin; receivables.addin.dispatch(\'" & control.Id & "\')"'
)
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
NS_UI = build.CUSTOMUI_NS
SOURCES = Path(build.__file__).parent


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One add-in built for the whole module (a build takes well under a second)."""
    return build.build_addin(tmp_path_factory.mktemp("addin"))


@pytest.fixture(scope="module")
def parts(built: Path) -> dict[str, bytes]:
    """The zip parts of the built add-in."""
    with zipfile.ZipFile(built) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


@pytest.fixture(scope="module")
def macros(built: Path) -> dict[str, str]:
    """Module name -> source, as oletools decodes them from the built add-in."""
    return _olevba_modules(built)


@pytest.fixture(scope="module")
def ole(parts: dict[str, bytes]) -> olefile.OleFileIO:
    """The built vbaProject.bin, opened with olefile."""
    return olefile.OleFileIO(io.BytesIO(parts["xl/vbaProject.bin"]))


def _olevba_modules(path: Path) -> dict[str, str]:
    """Module name -> source of every VBA module in ``path``, decoded by oletools."""
    parser = VBA_Parser(str(path))
    try:
        return {
            Path(vba_filename).stem: code for _, _, vba_filename, code in parser.extract_macros()
        }
    finally:
        parser.close()


def _bas_source() -> str:
    """The dispatcher's text source as kept in the repository."""
    return (SOURCES / "CollectionsRibbon.bas").read_text(encoding="ascii")


# --- reproducibility -------------------------------------------------------------------


def test_two_builds_are_byte_identical(built: Path, tmp_path: Path) -> None:
    again = build.build_addin(tmp_path / "same-process")
    assert again.name == "Collections.xlam"
    assert again.read_bytes() == built.read_bytes()
    # Another process, hash seed, time zone and working directory change nothing either.
    elsewhere = tmp_path / "other-process"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TZ": "Pacific/Auckland"}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pathlib; from receivables.addin.build import build_addin; "
            "build_addin(pathlib.Path(sys.argv[1]))",
            str(elsewhere),
        ],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=120,
    )
    assert (elsewhere / "Collections.xlam").read_bytes() == built.read_bytes()


def test_zip_entries_have_fixed_order_and_timestamps(built: Path) -> None:
    with zipfile.ZipFile(built) as archive:
        infos = archive.infolist()
        assert archive.testzip() is None
    names = [i.filename for i in infos]
    assert names[:2] == ["[Content_Types].xml", "_rels/.rels"]
    assert names[2:] == sorted(names[2:])
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.create_system, i.external_attr) for i in infos} == {(3, 0o100644 << 16)}
    assert "customUI/customUI.xml" not in names
    assert build.RIBBON_PART in names


def test_build_rejects_a_name_that_is_not_a_vba_identifier(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="VBA identifier"):
        build.build_addin(tmp_path, name="My Add-in")
    assert list(tmp_path.iterdir()) == []


def test_other_name_renames_project_constant_and_conf_sheet(tmp_path: Path) -> None:
    path = build.build_addin(tmp_path, name="Receivables2")
    assert path.name == "Receivables2.xlam"
    modules = _olevba_modules(path)
    assert 'Public Const PROJECT_NAME As String = "Receivables2"' in modules["xlwings"]
    with zipfile.ZipFile(path) as archive:
        workbook = etree.fromstring(archive.read("xl/workbook.xml"))
    assert [s.get("name") for s in workbook.iter(f"{{{NS_MAIN}}}sheet")] == ["Receivables2.conf"]


# --- VBA -------------------------------------------------------------------------------


def test_olevba_decodes_every_module(macros: dict[str, str]) -> None:
    assert set(macros) == MODULES
    assert all(code.strip() for code in macros.values())


def test_dispatcher_module_runs_python_with_the_button_id(macros: dict[str, str]) -> None:
    code = macros["CollectionsRibbon"]
    assert code.replace("\r\n", "\n") == _bas_source()
    assert "Sub CollectionsRibbon_OnAction(control As IRibbonControl)" in code
    assert DISPATCH_CALL in code
    # One callback for every button: no button id is spelled out in VBA.
    assert not any(b.id in code for b in BUTTONS)


def test_xlwings_module_is_the_template_with_the_addin_project_name(
    macros: dict[str, str],
) -> None:
    template = _olevba_modules(build.template_path())["xlwings"]
    code = macros["xlwings"]
    assert f"'Version: {XLWINGS_VERSION}" in code.splitlines()
    assert f'Public Const XLWINGS_VERSION As String = "{XLWINGS_VERSION}"' in code
    assert re.findall(r'^Public Const PROJECT_NAME As String = "(.*)"', code, re.M) == [
        "Collections"
    ]
    # The template stores this module with bare LF line ends (Excel itself writes CRLF, as
    # in the template's other modules); the build writes CRLF and changes nothing else, so
    # a byte-for-byte comparison also shows that the whole module decodes.
    assert "\r" not in template
    expected = re.sub(
        r'(Public Const PROJECT_NAME As String = )"[^"]*"', r'\1"Collections"', template
    )
    assert code == expected.replace("\n", "\r\n")


def test_vba_project_is_source_only_and_renamed(ole: olefile.OleFileIO) -> None:
    with zipfile.ZipFile(build.template_path()) as archive:
        template = olefile.OleFileIO(io.BytesIO(archive.read("xl/vbaProject.bin")))
    vba_project = ole.openstream("VBA/_VBA_PROJECT").read()
    # Version 0xFFFF and no performance cache: Excel compiles from source.
    assert len(vba_project) == 7 and vba_project[2:4] == b"\xff\xff"
    assert vba_project == template.openstream("VBA/_VBA_PROJECT").read()
    assert not ole.exists("VBA/RibbonMyAddin")

    records = build.parse_dir(bytes(decompress_stream(bytearray(ole.openstream("VBA/dir").read()))))
    assert b"".join(p for r, p in records if r == 0x0004) == b"Collections"  # PROJECTNAME
    names = [p.decode("cp1252") for r, p in records if r == 0x0019]  # MODULENAME
    offsets = [int.from_bytes(p, "little") for r, p in records if r == 0x0031]
    by_name = dict(zip(names, offsets, strict=True))
    assert set(by_name) == MODULES
    assert by_name["CollectionsRibbon"] == 0 and by_name["xlwings"] == 0
    # Offset 0 means the stream is nothing but the compressed source.
    stream = bytearray(ole.openstream("VBA/CollectionsRibbon").read())
    source = bytes(decompress_stream(stream)).decode("cp1252")
    assert source == _bas_source().replace("\n", "\r\n")

    project = ole.openstream("PROJECT").read().decode("cp1252").split("\r\n")
    assert "Module=CollectionsRibbon" in project
    assert 'Name="Collections"' in project
    assert not any("RibbonMyAddin" in line for line in project)
    projectwm = ole.openstream("PROJECTwm").read()
    assert b"CollectionsRibbon\0" + "CollectionsRibbon".encode("utf-16-le") + b"\0\0" in projectwm
    assert projectwm.endswith(b"\0\0\0\0")


RED, BLACK = 0, 1  # MS-CFB directory entry colours


def _cfb_key(name: str) -> tuple[int, str]:
    """MS-CFB sibling order: length first, then upper-cased name."""
    return (len(name), name.upper())


def _assert_valid_directory(ole: olefile.OleFileIO) -> int:
    """Check every storage's children form a red-black tree in CFB order; count red nodes."""
    entries = ole.direntries
    reds = 0

    def check(sid: int) -> tuple[list[str], int]:
        """In-order names and black height of the sibling subtree at ``sid``."""
        nonlocal reds
        if sid == olefile.NOSTREAM:
            return [], 1
        entry = entries[sid]
        assert (entry.createTime, entry.modifyTime) == (0, 0)
        assert entry.clsid in ("", "00000000-0000-0000-0000-000000000000")
        if entry.color == RED:
            reds += 1
            for child in (entry.sid_left, entry.sid_right):
                if child != olefile.NOSTREAM:
                    assert entries[child].color == BLACK, "red node with a red child"
        left, left_height = check(entry.sid_left)
        right, right_height = check(entry.sid_right)
        assert left_height == right_height, "unequal black heights"
        return left + [entry.name] + right, left_height + (entry.color == BLACK)

    for entry in entries:
        if entry is None or entry.entry_type not in (olefile.STGTY_ROOT, olefile.STGTY_STORAGE):
            continue
        if entry.sid_child == olefile.NOSTREAM:
            continue
        assert entries[entry.sid_child].color == BLACK
        names, _ = check(entry.sid_child)
        assert names == sorted(names, key=_cfb_key)
    return reds


def test_compound_file_directory_is_a_valid_red_black_tree(ole: olefile.OleFileIO) -> None:
    _assert_valid_directory(ole)
    assert ole.dll_version == 3 and ole.sector_size == 512


@pytest.mark.parametrize("count", [1, 2, 5, 10, 12])
def test_cfb_writer_round_trips_through_olefile(count: int) -> None:
    # Sizes on both sides of the 4096-byte mini-stream cutoff and of sector boundaries.
    streams = {
        f"{'Store/' if i % 2 else ''}S{i:02d}{'x' * (i % 4)}": bytes([i]) * (i * 997)
        for i in range(count)
    }
    data = build.write_cfb(streams)
    assert build.write_cfb(streams) == data
    ole = olefile.OleFileIO(io.BytesIO(data))
    for path, content in streams.items():
        assert ole.openstream(path).read() == content
    assert build.read_cfb(data) == streams
    reds = _assert_valid_directory(ole)
    # Five or more siblings give an incomplete last level, whose nodes are red.
    assert reds > 0 or count < 5


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"a",
        b"abc",
        b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        b"x" * 4095,
        b"x" * 4096,
        b"x" * 4097,
        bytes(random.Random(7).choice(b"ab \r\n") for _ in range(13_000)),
        # "QZ" ends the first chunk and "QZW" repeats the chunk's start across the edge:
        # a copy there would have to reach into the next chunk, which readers refuse.
        b"QZW" + b"." * 4090 + b"U" + b"QZ" + b"W" + b"tail",
    ],
    ids=["empty", "one", "three", "run", "4095", "4096", "4097", "text-13000", "chunk-edge"],
)
def test_ovba_compression_round_trips_through_oletools(data: bytes) -> None:
    compressed = build.ovba_compress(data)
    assert bytes(decompress_stream(bytearray(compressed))) == data
    # The strict decoder also refuses copies across chunks, as LibreOffice does.
    assert build.ovba_decompress(compressed) == data


def test_ovba_decompresses_the_specification_example() -> None:
    # MS-OVBA 3.2.3 example: compressed container and the bytes it stands for.
    compressed = bytes.fromhex(
        "012FB000236161616263646582660070616768696A0138086"
        "16B6C00306D6E6F70067102700410727374757610777879 7A003C".replace(" ", "")
    )
    expected = b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
    assert build.ovba_decompress(compressed) == expected
    assert build.ovba_decompress(build.ovba_compress(expected)) == expected


# --- ribbon ----------------------------------------------------------------------------


def test_ribbon_validates_against_customui14_schema(parts: dict[str, bytes]) -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"{SCHEMA} is absent (shared/ is not beside the repository)")
    import xmlschema

    schema = xmlschema.XMLSchema(str(SCHEMA))
    schema.validate(parts[build.RIBBON_PART].decode("utf-8"))


def test_ribbon_buttons_are_the_buttons_table(parts: dict[str, bytes]) -> None:
    root = etree.fromstring(parts[build.RIBBON_PART])
    assert root.tag == f"{{{NS_UI}}}customUI"
    tabs = root.findall(f".//{{{NS_UI}}}tab")
    assert [t.get("label") for t in tabs] == ["Collections"]
    elements = root.findall(f".//{{{NS_UI}}}button")
    ids = [e.get("id") for e in elements]
    assert set(ids) == {b.id for b in BUTTONS} and len(ids) == len(BUTTONS)
    for element in elements:
        spec = button(element.get("id"))
        assert element.get("onAction") == build.RIBBON_CALLBACK
        assert element.get("label") == spec.label
        assert element.get("imageMso") == spec.image_mso
        assert element.get("screentip") == spec.screentip
        assert element.get("supertip") == spec.supertip
    # Every callback the ribbon names exists in the dispatcher module.
    assert f"Sub {build.RIBBON_CALLBACK}(" in _bas_source()


def test_ribbon_check_refuses_a_ribbon_that_drifted_from_the_table() -> None:
    source = (SOURCES / "ribbon.xml").read_bytes()
    assert build.check_ribbon(source) == [b.id for b in BUTTONS]
    wrong_callback = source.replace(
        b'onAction="CollectionsRibbon_OnAction"', b'onAction="RunMain"', 1
    )
    with pytest.raises(ValueError, match="onAction"):
        build.check_ribbon(wrong_callback)
    extra = source.replace(
        b"</group>",
        b'<button id="collections_extra" onAction="CollectionsRibbon_OnAction"/></group>',
    )
    with pytest.raises(ValueError, match="differ from BUTTONS"):
        build.check_ribbon(extra)


def test_package_relates_the_ribbon(parts: dict[str, bytes]) -> None:
    rels = etree.fromstring(parts["_rels/.rels"])
    ui = [r for r in rels if r.get("Type") == build.RIBBON_REL_TYPE]
    assert [r.get("Target") for r in ui] == ["customUI/customUI14.xml"]
    assert not [r for r in rels if "ui/extensibility" in r.get("Type") and r not in ui]
    types = etree.fromstring(parts["[Content_Types].xml"])
    covered = any(t.get("Extension") == "xml" for t in types.iter(f"{{{NS_CT}}}Default")) or any(
        t.get("PartName") == f"/{build.RIBBON_PART}" for t in types.iter(f"{{{NS_CT}}}Override")
    )
    assert covered


# --- config sheet ----------------------------------------------------------------------


def test_conf_sheet_has_only_rows_with_values(parts: dict[str, bytes]) -> None:
    workbook = etree.fromstring(parts["xl/workbook.xml"])
    assert [s.get("name") for s in workbook.iter(f"{{{NS_MAIN}}}sheet")] == ["Collections.conf"]
    strings = [
        "".join(si.itertext())
        for si in etree.fromstring(parts["xl/sharedStrings.xml"]).iter(f"{{{NS_MAIN}}}si")
    ]
    sheet = etree.fromstring(parts["xl/worksheets/sheet1.xml"])
    rows = {}
    for row in sheet.iter(f"{{{NS_MAIN}}}row"):
        values = {}
        for cell in row.iter(f"{{{NS_MAIN}}}c"):
            raw = cell.findtext(f"{{{NS_MAIN}}}v")
            kind = cell.get("t")
            value = strings[int(raw)] if kind == "s" else (raw == "1" if kind == "b" else raw)
            values[cell.get("r")[0]] = value
        assert set(values) == {"A", "B"}, "every row has a key and a value"
        assert values["A"] and values["B"] not in ("", None)
        rows[values["A"]] = values["B"]
    assert rows == dict(build.CONF_SETTINGS)
    assert rows["ADD_WORKBOOK_TO_PYTHONPATH"] is False


def test_no_path_of_the_template_authors_machine_is_left(parts: dict[str, bytes]) -> None:
    with zipfile.ZipFile(build.template_path()) as template:
        assert b"absPath" in template.read("xl/workbook.xml"), "the template carries one"
    workbook = parts["xl/workbook.xml"]
    assert b"absPath" not in workbook and b"AlternateContent" not in workbook
    root = etree.fromstring(workbook)  # still a workbook, its other parts kept
    assert root.find(f"{{{NS_MAIN}}}bookViews") is not None
    assert root.find(f"{{{NS_MAIN}}}workbookPr") is not None
    for name, data in parts.items():  # nor anywhere else in the package
        if name.endswith((".xml", ".rels")):
            assert b"\\Users\\" not in data and b"/Users/" not in data, name


def test_abs_path_is_removed_with_only_its_empty_wrappers() -> None:
    workbook = etree.fromstring(
        f'<workbook xmlns="{NS_MAIN}" xmlns:mc="{build.NS_MC}"><workbookPr/>'
        '<mc:AlternateContent><mc:Choice Requires="x15">'
        f'<x15ac:absPath xmlns:x15ac="{build.NS_X15AC}" url="C:\\Users\\x\\"/>'
        "</mc:Choice></mc:AlternateContent>"
        '<mc:AlternateContent><mc:Choice Requires="x15"><keep/></mc:Choice>'
        "</mc:AlternateContent></workbook>".encode()
    )
    build.strip_abs_path(workbook)
    text = etree.tostring(workbook).decode()
    assert "absPath" not in text and "<keep/>" in text and text.count("AlternateContent") == 2


# --- buttons table ---------------------------------------------------------------------


def test_buttons_table_order_and_handlers() -> None:
    assert [(b.id, b.label, b.handler) for b in BUTTONS] == [
        ("collections_classify", "Classify", "receivables.addin.handlers:classify"),
        ("collections_plan", "Collection Plan", "receivables.addin.handlers:plan"),
        ("collections_letters", "Demand Letters", "receivables.addin.handlers:letters"),
        ("collections_email", "Email", "receivables.addin.handlers:email"),
        ("collections_settings", "Settings", "receivables.addin.handlers:settings"),
        ("collections_help", "Help", "receivables.addin.handlers:help_"),
    ]
    assert button("collections_plan").label == "Collection Plan"
    with pytest.raises(KeyError, match="collections_classify"):
        button("nope")
    with pytest.raises(ValueError, match="handler"):
        Button("x", "X", "Help", "X", "X", handler="receivables.addin.handlers.x")
    with pytest.raises(ValueError, match="button id"):
        Button("x'); evil('", "X", "Help", "X", "X", handler="m:f")


# --- LibreOffice -----------------------------------------------------------------------


@pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"
)
def test_libreoffice_imports_the_vba_modules(built: Path, tmp_path: Path) -> None:
    profile = (tmp_path / "profile").as_uri()
    result = subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--infilter=Calc MS Excel 2007 VBA XML",
            "--convert-to",
            "ods",
            "--outdir",
            str(tmp_path),
            str(built),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    converted = tmp_path / "Collections.ods"
    assert converted.is_file(), result.stdout + result.stderr
    with zipfile.ZipFile(converted) as archive:
        basic = {
            Path(name).stem: html.unescape(archive.read(name).decode("utf-8"))
            for name in archive.namelist()
            if name.startswith("Basic/Collections/") and not name.endswith("script-lb.xml")
        }
    assert set(basic) == MODULES
    assert DISPATCH_CALL in basic["CollectionsRibbon"]
    assert "Sub CollectionsRibbon_OnAction(control As IRibbonControl)" in basic["CollectionsRibbon"]
    # The long xlwings module arrives whole: its last line and the renamed constant.
    source = _olevba_modules(built)["xlwings"]
    last_line = [line for line in source.splitlines() if line.strip()][-1]
    assert 'Public Const PROJECT_NAME As String = "Collections"' in basic["xlwings"]
    assert last_line in basic["xlwings"]
