"""Guards of the architecture: the core stays pure, the add-in ships no test code.

``processor/core`` is the functional core (design §2): it never imports a shell (the file
readers and writers, the CLI, the add-in, Excel), never opens a file, never reads the
clock (``as_of`` is a parameter) and never reads the environment. The checks parse the
source with ``ast``, so a word in a comment or a string does not count and an aliased
import does.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "processor" / "core"

# Top-level modules the core must not import: the package's shells (``receivables`` other
# than ``receivables.core``), the spreadsheet engines and UI libraries they use, and the
# standard modules whose job is files, processes, the network, the clock or the environment.
FORBIDDEN_MODULES = frozenset(
    {
        # the shells and what they drive
        "processor",
        "addin",
        "xlwings",
        "python_calamine",
        "calamine",
        "fastexcel",
        "openpyxl",
        "msoffcrypto",
        "defusedxml",
        "lxml",
        "docxtpl",
        "docx",
        "click",
        "rich",
        "pyarrow",
        # files, processes, network
        "os",
        "pathlib",
        "shutil",
        "tempfile",
        "glob",
        "fnmatch",
        "subprocess",
        "socket",
        "urllib",
        "http",
        "smtplib",
        "imaplib",
        "zipfile",
        "sqlite3",
        "pickle",
        "requests",
        # the clock and the environment
        "time",
        "sys",
    }
)
# Methods that write or list files (pathlib, zipfile, openpyxl, pandas); every ``read_*``
# method (``read_text``, ``pd.read_csv``) counts as reading one.
FILE_METHODS = frozenset(
    {
        "open",
        "write_text",
        "write_bytes",
        "mkdir",
        "unlink",
        "touch",
        "iterdir",
        "glob",
        "rglob",
        "save",
        "to_excel",
        "to_csv",
        "to_parquet",
        "to_pickle",
        "to_json",
        "load_workbook",
    }
)
FILE_FUNCTIONS = frozenset({"open", "load_workbook", "FileSystemLoader"})
# Calls that read the clock: date.today(), datetime.now(), pd.Timestamp.utcnow(), ...
CLOCK_METHODS = frozenset({"today", "now", "utcnow", "time_ns", "monotonic", "perf_counter"})
# pd.Timestamp("now"), np.datetime64("today"), pd.to_datetime("today") read it too.
CLOCK_WORDS = frozenset({"now", "today"})
ENVIRONMENT_NAMES = frozenset({"environ", "getenv", "putenv", "environb"})

# The one kind of file the core reads, with the reason: its packaged defaults
# (default_rules.toml, headers.toml) ship inside the package as code does; they are read
# with ``importlib.resources.files(__package__).joinpath("<name>").read_text(...)`` and
# never depend on the user, the working folder or the environment.
PACKAGED_RESOURCE_READS = frozenset({"read_text", "read_bytes"})


@dataclass(frozen=True)
class Violation:
    """One impurity found in a core module."""

    file: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.what}"


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_packaged_resource_read(call: ast.Call) -> bool:
    """``resources.files(__package__).joinpath("x.toml").read_text(...)`` of a packaged file."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in PACKAGED_RESOURCE_READS):
        return False
    joined = func.value
    if not (
        isinstance(joined, ast.Call)
        and isinstance(joined.func, ast.Attribute)
        and joined.func.attr == "joinpath"
        and len(joined.args) == 1
        and isinstance(joined.args[0], ast.Constant)
        and isinstance(joined.args[0].value, str)
    ):
        return False
    files = joined.func.value
    return (
        isinstance(files, ast.Call)
        and isinstance(files.func, ast.Attribute)
        and files.func.attr == "files"
        and isinstance(files.func.value, ast.Name)
        and files.func.value.id == "resources"
        and len(files.args) == 1
        and isinstance(files.args[0], ast.Name)
        and files.args[0].id == "__package__"
        and (CORE / joined.args[0].value).is_file()
    )


def impurities(source: str, file: str = "<core>", depth: int = 2) -> list[Violation]:
    """Every shell import, file access, clock read and environment read in ``source``.

    ``depth`` is how many package levels the module sits below ``receivables``
    (``receivables.core.x`` is 2): a relative import that climbs out of ``core`` is a shell.
    """
    found: list[Violation] = []

    def flag(node: ast.AST, what: str) -> None:
        found.append(Violation(file, getattr(node, "lineno", 0), what))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                _check_module(alias.name, node, flag)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                _check_module(node.module or "", node, flag)
            elif node.level >= depth:
                flag(node, f"imports {'.' * node.level}{node.module or ''} outside the core")
        elif isinstance(node, ast.Call):
            _check_call(node, flag)
        elif isinstance(node, ast.Attribute | ast.Name):
            name = node.attr if isinstance(node, ast.Attribute) else node.id
            if name in ENVIRONMENT_NAMES:
                flag(node, f"reads the environment ({name})")
    return found


def _check_module(module: str, node: ast.AST, flag) -> None:
    top = module.split(".")[0]
    if top == "receivables" and not module.startswith("receivables.core"):
        flag(node, f"imports the shell {module}")
    elif top in FORBIDDEN_MODULES:
        flag(node, f"imports {module}")


def _check_call(node: ast.Call, flag) -> None:
    name = _call_name(node.func)
    if name is None:
        return
    if isinstance(node.func, ast.Name) and name in FILE_FUNCTIONS:
        flag(node, f"opens a file ({name}())")
    elif isinstance(node.func, ast.Attribute):
        if name.startswith("read_") and not _is_packaged_resource_read(node):
            flag(node, f"reads a file (.{name}())")
        elif name in FILE_METHODS:
            flag(node, f"touches a file (.{name}())")
        elif name in CLOCK_METHODS:
            flag(node, f"reads the clock (.{name}())")
    if any(
        isinstance(arg, ast.Constant)
        and isinstance(arg.value, str)
        and arg.value.strip().lower() in CLOCK_WORDS
        for arg in node.args
    ) and name in {"Timestamp", "to_datetime", "datetime64", "DatetimeIndex"}:
        flag(node, f"reads the clock ({name}('now'/'today'))")


def test_the_core_is_pure():
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) > 10, "the core's modules were not found"
    found = []
    for path in modules:
        depth = len(path.relative_to(ROOT / "processor").parts)  # core/x.py -> 2
        found += impurities(path.read_text("utf-8"), str(path.relative_to(ROOT)), depth)
    assert not found, "the core must stay pure:\n" + "\n".join(map(str, found))


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("from .. import pipeline", "imports .. outside the core"),
        ("from ..xlsx.splice import render_grid", "imports ..xlsx.splice outside the core"),
        ("import receivables.reader", "imports the shell receivables.reader"),
        ("from receivables.addin import handlers", "imports the shell receivables.addin"),
        ("import xlwings as xw", "imports xlwings"),
        ("from python_calamine import CalamineWorkbook", "imports python_calamine"),
        ("from openpyxl import load_workbook", "imports openpyxl"),
        ("import click", "imports click"),
        ("from pathlib import Path", "imports pathlib"),
        ("import os.path", "imports os.path"),
        ("with open(name) as f:\n    pass", "opens a file (open())"),
        ("text = path.read_text('utf-8')", "reads a file (.read_text())"),
        ("path.write_bytes(b'')", "touches a file (.write_bytes())"),
        ("frame = pd.read_csv(name)", "reads a file (.read_csv())"),
        ("frame.to_excel(name)", "touches a file (.to_excel())"),
        ("text = resources.files('x').joinpath(name).read_text()", "reads a file (.read_text())"),
        ("as_of = date.today()", "reads the clock (.today())"),
        ("stamp = datetime.now()", "reads the clock (.now())"),
        ("stamp = pd.Timestamp.utcnow()", "reads the clock (.utcnow())"),
        ("stamp = pd.Timestamp('today')", "reads the clock (Timestamp('now'/'today'))"),
        ("import time", "imports time"),
        ("from time import time", "imports time"),
        ("rules = environ['RULES']", "reads the environment (environ)"),
        ("rules = getenv('RULES')", "reads the environment (getenv)"),
    ],
)
def test_each_kind_of_impurity_is_caught(source, what):
    assert [v.what for v in impurities(source)] == [what]


def test_pure_code_and_the_packaged_defaults_pass():
    source = """
from importlib import resources
from datetime import date, timedelta
from . import frame as F
from .issues import Issue
import pandas as pd
from receivables.core.rules import Rules

def defaults():
    # open(...), date.today() in a comment do not count, nor do "open(" in a string
    return resources.files(__package__).joinpath("default_rules.toml").read_text("utf-8")

def due(as_of: date) -> date:
    return as_of + timedelta(days=30)

stamp = pd.Timestamp("2026-10-31")
"""
    assert impurities(source) == []
    # A packaged name that does not exist is not the packaged defaults.
    missing = 'resources.files(__package__).joinpath("nothing.toml").read_text("utf-8")'
    assert [v.what for v in impurities(missing)] == ["reads a file (.read_text())"]


def test_the_add_in_package_ships_no_test_stand_in():
    assert importlib.util.find_spec("receivables.addin") is not None
    assert importlib.util.find_spec("receivables.addin.standin") is None
    shipped = {p.name for p in (ROOT / "addin").glob("*.py")}
    assert "standin.py" not in shipped and (ROOT / "tests" / "standin.py").is_file()


def _loaded_by_importing(modules: tuple[str, ...], prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with one of ``prefixes`` that a fresh interpreter has loaded
    once it imported ``modules``."""
    import subprocess
    import sys

    probe = (
        f"import sys, {', '.join(modules)};"
        f"print(' '.join(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    )
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()


def test_the_addin_does_not_load_the_file_shell():
    """Excel holds the workbook open: the add-in reads and writes it through xlwings only,
    so importing its handlers must not load the file reader, calamine or the splice writer."""
    loaded = _loaded_by_importing(
        ("receivables.addin", "receivables.addin.handlers", "receivables.addin.xlwriter"),
        (
            "receivables.reader",
            "receivables.xlsx.splice",
            "receivables.pipeline",
            "receivables.batch",
            "python_calamine",
        ),
    )
    assert loaded == []


def test_the_file_shell_imports_pandas_only_when_it_needs_it():
    """``receivables process`` starts parsing a big ledger before it imports pandas, so the
    ~0.35 s of that import overlap the parse (``pipeline._warm_up``): importing the CLI and
    the pipeline, the settings schema and the field names included, must not load pandas
    or numpy."""
    loaded = _loaded_by_importing(
        (
            "receivables.cli",
            "receivables.pipeline",
            "receivables.core.schema",
            "receivables.core.frame",
        ),
        ("pandas", "numpy"),
    )
    assert loaded == []
