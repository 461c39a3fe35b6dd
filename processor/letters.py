"""Demand letters by mail merge: check the Word templates, render, write .docx and PDF.

The shell half of design.md §8; the core (``receivables.core.letters``) decides the jobs
and their contexts. Templates are docxtpl templates (Jinja tags inside Word documents).

Rendering is fast because each template is prepared once: docxtpl's tag cleaning
(``patch_xml``, which mends tags that Word split across runs) runs once per part, Jinja
compiles the cleaned XML once, and the parts without tags are zipped once. Each letter
then only renders the tagged parts (autoescaped, so ``Smith & Sons <UK>`` stays valid XML)
and appends them to a copy of that zip. Naive docxtpl re-reads and re-cleans the whole
template for every letter.

Before anything is written every template needed is checked: Jinja syntax, unknown
filters, variables the context lacks (also fields of ``items``), and a trial render that
must give well-formed XML. Problems raise :class:`LetterTemplateError` naming the template
file and the tag.
"""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from docxtpl import DocxTemplate
from jinja2 import Environment, StrictUndefined, TemplateSyntaxError, meta, nodes, pass_context
from lxml import etree

from .atomic import remove_stale_temps, track_temp, untrack_temp
from .core import letters as core
from .core.dunning import SentLetter, format_items
from .core.hungarian import hu_article
from .core.issues import InputError, Issue, Location, Severity
from .core.rules import Rules
from .writable import check_folder_writable, os_errors_as_input_errors
from .xlsx.xmlutil import XML_ILLEGAL

# Parts of a .docx that may hold tags (docxtpl renders the same ones).
_TAGGED_PART = re.compile(
    r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml|docProps/core\.xml"
)
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_XML_TAG = re.compile(r"<[^>]+>")
# Text runs holding a line break or tab from a value: Word needs <w:br/> / <w:tab/>.
_BREAKS_IN_TEXT = re.compile(r"(<w:t(?: [^>]*)?>)([^<]*[\n\t][^<]*)(</w:t>)")
_DOCPR_ID = re.compile(r'(<wp:docPr\b[^>]*?\bid=")\d+(")')
# docxtpl features that need a table-grid fix after rendering.
_TABLE_RESHAPING = re.compile(r"\{%-?\s*(tc\b|colspan\b|hm\s*%)")
# docxtpl tags that expect RichText / Subdoc objects; the letter context has plain text.
_RICH_TAG = re.compile(r"\{\{\s*(r|p|tr|tc)\s")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{prefix}{n}" for prefix in ("COM", "LPT") for n in range(10)
}

LOG_COLUMNS = core.LOG_COLUMNS  # the Letters Log columns, defined with the pure core


class LetterTemplateError(InputError):
    """Templates that cannot be rendered; ``problems`` lists each one with file and tag."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("letter templates need fixing: " + "; ".join(problems))


# ---- the Jinja environment --------------------------------------------------------------


@pass_context
def _money_filter(ctx, cents, currency=None):
    return core.money(int(cents), currency or ctx["currency"], ctx["locale"])


@pass_context
def _amount_filter(ctx, cents, currency=None):
    return core.amount(int(cents), currency or ctx["currency"], ctx["locale"])


@pass_context
def _date_filter(ctx, value, style="long"):
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return core.long_date(day, ctx["locale"], style)


def _hu_article_filter(value, capital=False):
    return hu_article(value, bool(capital))


# Filters the templates may use besides Jinja's own (letter_templates/README.md).
FILTERS = {
    "money": _money_filter,
    "amount": _amount_filter,
    "date": _date_filter,
    "hu_article": _hu_article_filter,
}


def _finalize(value: Any) -> Any:
    # Applied to every printed value before escaping: drop what XML cannot hold, and make
    # Windows line ends plain line breaks (they become <w:br/>). Excel cells can hold
    # characters XML 1.0 forbids; Word refuses a file with one.
    if isinstance(value, str):
        return XML_ILLEGAL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value


def make_environment() -> Environment:
    """The Jinja environment of every letter: XML autoescape, strict undefined, filters."""
    env = Environment(autoescape=True, undefined=StrictUndefined, finalize=_finalize)
    env.filters.update(FILTERS)
    return env


_ENV = make_environment()


class _EveryName(dict):
    # Jinja's variable introspection compiles the template and stops at the first unknown
    # filter; checking with a registry that has every name reports all problems at once.
    def __contains__(self, name: object) -> bool:
        return True

    def get(self, name, default=None):
        return super().get(name) or _placeholder


def _placeholder(value, *args, **kwargs):
    return value


_INTROSPECTION = make_environment()
_INTROSPECTION.filters = _EveryName(_INTROSPECTION.filters)
_INTROSPECTION.tests = _EveryName(_INTROSPECTION.tests)


# ---- preparing a template ----------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    name: str
    source: str  # cleaned XML, one paragraph per line (for error locations)
    template: Any  # jinja2.Template
    fix_tables: bool
    renumber_drawings: bool


@dataclass(frozen=True)
class PreparedTemplate:
    """A letter template cleaned, compiled and split into static zip + tagged parts."""

    path: Path
    static_zip: bytes = field(repr=False)
    parts: tuple[_Part, ...] = field(repr=False)

    def render(self, context: Mapping[str, Any]) -> bytes:
        """The .docx bytes of one letter."""
        buffer = io.BytesIO(self.static_zip)
        # Appending keeps the static parts' compressed bytes: only tagged parts are deflated.
        with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as docx:
            for part in self.parts:
                docx.writestr(part.name, _render_part(part, context))
        return buffer.getvalue()


def _render_part(part: _Part, context: Mapping[str, Any]) -> str:
    xml = part.template.render(context)
    # Undo the one-paragraph-per-line layout and docxtpl's escapes for literal braces.
    xml = xml.replace("\n<w:p", "<w:p")
    xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
    xml = _BREAKS_IN_TEXT.sub(_breaks, xml)
    if part.fix_tables:
        tree = DocxTemplate(None).fix_tables(xml.encode("utf-8"))
        xml = etree.tostring(tree, encoding="UTF-8", xml_declaration=True, standalone=True)
        xml = xml.decode("utf-8")
    if part.renumber_drawings:
        # Loops copy drawings; Word refuses duplicate docPr ids.
        counter = iter(range(1000, 10**9))
        xml = _DOCPR_ID.sub(lambda m: f"{m.group(1)}{next(counter)}{m.group(2)}", xml)
    return xml


def _breaks(match: re.Match) -> str:
    text = match.group(2)
    text = text.replace("\n", '</w:t><w:br/><w:t xml:space="preserve">')
    text = text.replace("\t", '</w:t><w:tab/><w:t xml:space="preserve">')
    return f"{match.group(1)}{text}{match.group(3)}"


_PREPARED: dict[tuple[str, int, int], PreparedTemplate] = {}


def prepare_template(path: Path) -> tuple[PreparedTemplate | None, list[str]]:
    """Clean and compile ``path`` once (cached by path, size and mtime); problems as text."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key in _PREPARED:
        return _PREPARED[key], []
    problems: list[str] = []
    try:
        source = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return None, [f"{path.name}: not a .docx file ({exc})"]
    patcher = DocxTemplate(None)
    static = io.BytesIO()
    parts = []
    with source, zipfile.ZipFile(static, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if _TAGGED_PART.fullmatch(info.filename):
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    problems.append(f"{path.name} ({info.filename}): not UTF-8; save it in Word")
                    continue
                xml = patcher.patch_xml(text)
                if "{{" in xml or "{%" in xml or "{#" in xml:
                    part, part_problems = _compile_part(path.name, info.filename, xml, text)
                    problems.extend(part_problems)
                    if part is not None:
                        parts.append(part)
                    continue
            out.writestr(info, data)
    if problems:
        return None, problems
    prepared = PreparedTemplate(path=path, static_zip=static.getvalue(), parts=tuple(parts))
    _PREPARED[key] = prepared
    return prepared, []


def _compile_part(template_name: str, part_name: str, xml: str, original: str):
    # One paragraph per line, as docxtpl does, so that a line number finds the paragraph.
    source = re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)
    where = f"{template_name} ({part_name})"
    # The text as typed, before docxtpl rewrote {%tr ...%} and friends.
    plain = html.unescape(_XML_TAG.sub("", original))
    problems = [
        f"{where}: tag {tag} needs rich text, the letter context has plain text; "
        "use {{ ... }} without r/p/tr/tc"
        for tag in _TAG.findall(plain)
        if _RICH_TAG.match(tag)
    ]
    try:
        ast = _INTROSPECTION.parse(source)
    except TemplateSyntaxError as exc:
        tag = _tag_at(source, exc.lineno, _quoted(exc.message))
        return None, [*problems, f"{where}: syntax error in {tag}: {exc.message}"]
    problems.extend(_check_names(where, source, ast))
    if problems:
        return None, problems
    part = _Part(
        name=part_name,
        source=source,
        template=_ENV.from_string(source),
        fix_tables=bool(_TABLE_RESHAPING.search(plain)),
        renumber_drawings="<wp:docPr" in xml,
    )
    return part, []


def _quoted(message: str | None) -> str | None:
    match = re.search(r"'([^']+)'", message or "")
    return match.group(1) if match else None


def _tags_on_line(source: str, lineno: int | None) -> list[str]:
    lines = source.split("\n")
    if not lineno or lineno > len(lines):
        return []
    return _TAG.findall(html.unescape(_XML_TAG.sub("", lines[lineno - 1])))


def _tag_at(source: str, lineno: int | None, name: str | None) -> str:
    """The tag on ``lineno`` that mentions ``name`` (else all tags of that paragraph)."""
    tags = _tags_on_line(source, lineno)
    if name:
        named = [tag for tag in tags if re.search(rf"\b{re.escape(name)}\b", tag)]
        if named:
            return named[-1] if name.startswith("end") else named[0]
    return " ".join(tags) or f"line {lineno}"


def _check_names(where: str, source: str, ast: nodes.Template) -> list[str]:
    problems = []
    known = set(core.CONTEXT_KEYS)
    for name in sorted(meta.find_undeclared_variables(ast) - known):
        lineno = next(n.lineno for n in ast.find_all(nodes.Name) if n.name == name)
        tag = _tag_at(source, lineno, name)
        problems.append(f"{where}: unknown variable {name!r} in {tag}")
    for node in ast.find_all((nodes.Filter, nodes.Test)):
        registry = _ENV.filters if isinstance(node, nodes.Filter) else _ENV.tests
        if node.name not in registry:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            tag = _tag_at(source, node.lineno, node.name)
            problems.append(f"{where}: unknown {kind} {node.name!r} in {tag}")
    # Fields of the invoice rows: {% for item in items %} ... {{ item.balance }}.
    for loop in ast.find_all(nodes.For):
        if not (isinstance(loop.iter, nodes.Name) and loop.iter.name == "items"):
            continue
        if not isinstance(loop.target, nodes.Name):
            continue
        for field_name, lineno in _fields_used(loop.body, loop.target.name):
            if field_name not in core.ITEM_KEYS:
                tag = _tag_at(source, lineno, field_name)
                problems.append(f"{where}: unknown item field {field_name!r} in {tag}")
    return problems


def _fields_used(body: list[nodes.Node], variable: str) -> Iterable[tuple[str, int]]:
    """``(field, line)`` for every ``variable.field`` or ``variable['field']`` in ``body``."""
    for statement in body:
        for access in statement.find_all((nodes.Getattr, nodes.Getitem)):
            if not (isinstance(access.node, nodes.Name) and access.node.name == variable):
                continue
            if isinstance(access, nodes.Getattr):
                yield access.attr, access.lineno
            elif isinstance(access.arg, nodes.Const) and isinstance(access.arg.value, str):
                yield access.arg.value, access.lineno


def trial_render(prepared: PreparedTemplate, context: Mapping[str, Any]) -> list[str]:
    """Render every part with ``context`` and check the XML is well formed."""
    problems = []
    for part in prepared.parts:
        where = f"{prepared.path.name} ({part.name})"
        try:
            xml = _render_part(part, context)
        except Exception as exc:  # any template runtime error is the template's problem
            lineno = _template_lineno(exc)
            tag = _tag_at(part.source, lineno, None)
            problems.append(f"{where}: {type(exc).__name__} in {tag}: {exc}")
            continue
        try:
            etree.fromstring(xml.encode("utf-8"))
        except etree.XMLSyntaxError as exc:
            problems.append(f"{where}: renders to broken Word XML ({exc})")
    return problems


def _template_lineno(exc: BaseException) -> int | None:
    # Jinja rewrites tracebacks so that template frames carry the template line number.
    tb = exc.__traceback__
    lineno = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno


# ---- finding templates --------------------------------------------------------------------


def packaged_templates_dir() -> Path:
    """The ``letter_templates`` folder shipped with the package."""
    return Path(str(resources.files("receivables.letter_templates")))


def template_files(templates_dir: Path) -> dict[tuple[str, str], Path]:
    """``(template, language) -> path`` for every ``<template>.<language>.docx`` in the folder."""
    found = {}
    for path in sorted(Path(templates_dir).glob("*.docx")):
        parts = path.name.split(".")
        if path.name.startswith("~$") or len(parts) != 3:
            continue
        found[(parts[0], parts[1].lower())] = path
    return found


def resolve_templates_dir(rules: Rules, templates_dir: Path | str | None = None) -> Path:
    """The argument, else ``[letters] templates_dir``, else the packaged templates."""
    if templates_dir:
        return Path(templates_dir)
    configured = str(rules.section("letters").get("templates_dir", "") or "").strip()
    return Path(configured) if configured else packaged_templates_dir()


def check_templates(
    templates_dir: Path | str, sample: Mapping[str, Any] | None = None
) -> list[str]:
    """Problems of every template in the folder (with a trial render when ``sample`` given)."""
    problems = []
    for path in template_files(Path(templates_dir)).values():
        prepared, found = prepare_template(path)
        problems.extend(found)
        if prepared is not None and sample is not None:
            problems.extend(trial_render(prepared, sample))
    return problems


# ---- writing letters ------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterRecord:
    """One row of the ``Letters Log`` sheet; money in cents, paths relative to the folder."""

    reference: str
    date: date
    customer: str
    currency: str
    stage: str  # the stage label
    template: str
    language: str
    amount_cents: int
    interest_cents: int
    compensation_cents: int
    file: str
    pdf: str = ""
    channel: str = "letter"
    message_id: str = ""
    status: str = ""  # blank or "sent": a sent letter (core.dunning)
    invoices: str = ""  # the items covered, as dunning history (core.dunning.format_items)
    credits_cents: int = 0
    previous: str = ""  # reference of the letter this one follows

    def row(self) -> dict[str, Any]:
        """The record keyed by ``LOG_COLUMNS`` (money as cents; the writer formats it)."""
        total = (
            self.amount_cents - self.credits_cents + self.interest_cents + self.compensation_cents
        )
        return dict(
            zip(
                LOG_COLUMNS,
                (
                    self.reference, self.date, self.customer, self.currency, self.stage,
                    self.template, self.language, self.invoices, self.amount_cents,
                    self.credits_cents, self.interest_cents, self.compensation_cents, total,
                    self.previous, self.file, self.pdf, self.channel, self.message_id,
                    self.status,
                ),
                strict=True,
            )
        )  # fmt: skip


@dataclass(frozen=True)
class LettersResult:
    """What ``write_letters`` did: one record per letter, and the issues found."""

    records: list[LetterRecord]
    issues: list[Issue]
    # The jobs written (decided with the dunning history): the email covers use these,
    # since jobs decided again without the history would be other letters.
    jobs: list[core.LetterJob] = field(default_factory=list)


def safe_name(text: str, limit: int = 60) -> str:
    """A file-name part that is safe on Windows, macOS and Linux (letters kept, any script)."""
    name = unicodedata.normalize("NFC", text)
    name = re.sub(r"[^\w.-]+", "_", name)
    name = re.sub(r"_+", "_", name).strip("._-")[:limit].rstrip("._-")
    if not name:
        return "customer"
    if name.split(".")[0].upper() in _WINDOWS_RESERVED:
        return f"_{name}"
    return name


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    track_temp(temporary)
    try:
        with os_errors_as_input_errors(path, "write the letter"):
            try:
                temporary.write_bytes(data)
                os.replace(temporary, path)
            except BaseException:
                temporary.unlink(missing_ok=True)  # a full disk leaves no half letter
                raise
    finally:
        untrack_temp(temporary)


def check_letters_dir(folder: Path) -> None:
    """Raise InputError unless letters can be written into ``folder`` (created if
    missing); also removes temporary files that killed runs left there."""
    check_folder_writable(folder, "letters folder", create=True)
    if folder.is_dir():
        remove_stale_temps(folder)
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                remove_stale_temps(child)


def write_letters(
    classified: pd.DataFrame,
    rules: Rules,
    as_of: date,
    out_dir: Path | str,
    *,
    stages: Collection[str] | None = None,
    pdf: bool = False,
    templates_dir: Path | str | None = None,
    sheet: str | None = None,
    history: Collection[SentLetter] = (),
    decisions: Mapping | None = None,
) -> LettersResult:
    """Write one letter per customer and currency whose dunning decision sends one now.

    ``decisions`` are the run's dunning decisions (:func:`receivables.core.dunning.decide`),
    made once per run; without them they are decided from ``history``, the dunning
    history (the Letters Log rows read back, :mod:`receivables.dunning_log`). Letters go to
    ``out_dir/<stage>/<customer>_<reference>.docx``, ``<stage>`` being the stage whose
    letter it is (notice, demand, final, legal), (and ``.pdf`` with
    ``pdf=True``, converted by one LibreOffice call). Raises :class:`LetterTemplateError`
    when a template needed is broken, and ``InputError`` when ``pdf`` is asked for
    without LibreOffice; nothing is written then.
    """
    soffice = find_soffice() if pdf else None
    if pdf and soffice is None:
        raise InputError(
            "PDF letters need LibreOffice, which is not installed (no 'soffice' on the PATH): "
            "install LibreOffice, or leave out --pdf to write .docx letters only."
        )
    files = template_files(resolve_templates_dir(rules, templates_dir))
    jobs, issues = core.letter_jobs(
        classified,
        rules,
        as_of,
        stages,
        available=files.keys(),
        sheet=sheet,
        history=history,
        decisions=decisions,
    )
    out = Path(out_dir)
    records, written = _write_jobs(jobs, prepare_for_jobs(jobs, files), out, rules)
    if pdf and written:
        pdfs, pdf_issues = convert_to_pdf(written, soffice)
        issues.extend(pdf_issues)
        records = [
            _with_pdf(record, pdfs.get(path), out)
            for record, path in zip(records, written, strict=True)
        ]
    return LettersResult(records=records, issues=issues, jobs=list(jobs))


def _write_jobs(
    jobs: Iterable[core.LetterJob],
    prepared: Mapping[tuple[str, str], PreparedTemplate],
    out: Path,
    rules: Rules,
) -> tuple[list[LetterRecord], list[Path]]:
    """Render each job into ``out/<stage>/<customer>_<reference>.docx``: the Letters Log
    records and the files written, in job order."""
    records: list[LetterRecord] = []
    written: list[Path] = []
    used: set[str] = set()
    for job in jobs:
        stage_dir = out / safe_name(job.stage)
        with os_errors_as_input_errors(stage_dir, "create the letters folder"):
            stage_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{safe_name(job.customer)}_{job.reference}"
        # References are unique, so this only guards against odd file systems.
        while stem.casefold() in used:
            stem += "_"
        used.add(stem.casefold())
        path = stage_dir / f"{stem}.docx"
        _write_atomic(path, prepared[(job.template, job.language)].render(job.context))
        written.append(path)
        records.append(
            LetterRecord(
                reference=job.reference,
                date=job.letter_date,
                customer=job.customer,
                currency=job.currency,
                stage=rules.stage(job.stage).label,
                template=job.template,
                language=job.language,
                amount_cents=job.overdue_cents,
                interest_cents=job.interest_cents,
                compensation_cents=job.compensation_cents,
                file=path.relative_to(out).as_posix(),
                invoices=format_items(job.recorded, job.stage),
                credits_cents=job.credits_cents,
                previous=job.previous.reference if job.previous else "",
            )
        )
    return records, written


def _with_pdf(record: LetterRecord, pdf: Path | None, out: Path) -> LetterRecord:
    return record if pdf is None else replace(record, pdf=pdf.relative_to(out).as_posix())


def prepare_for_jobs(
    jobs: Iterable[core.LetterJob], files: Mapping[tuple[str, str], Path]
) -> dict[tuple[str, str], PreparedTemplate]:
    """Prepare and check every template the jobs need; raise with all problems at once."""
    samples: dict[tuple[str, str], Mapping[str, Any]] = {}
    for job in jobs:
        samples.setdefault((job.template, job.language), job.context)
    prepared: dict[tuple[str, str], PreparedTemplate] = {}
    problems: list[str] = []
    for key, sample in samples.items():
        template, found = prepare_template(files[key])
        problems.extend(found)
        if template is not None:
            problems.extend(trial_render(template, sample))
            prepared[key] = template
    if problems:
        raise LetterTemplateError(problems)
    return prepared


# ---- PDF through LibreOffice ------------------------------------------------------------------


def find_soffice() -> str | None:
    """The LibreOffice command, from the PATH or the usual install places."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    candidates = {
        "darwin": ["/Applications/LibreOffice.app/Contents/MacOS/soffice"],
        "win32": [
            os.path.expandvars(r"%ProgramFiles%\LibreOffice\program\soffice.exe"),
            os.path.expandvars(r"%ProgramFiles(x86)%\LibreOffice\program\soffice.exe"),
        ],
    }.get(sys.platform, [])
    return next((path for path in candidates if os.path.isfile(path)), None)


# Files per LibreOffice call. One call per letter would start LibreOffice (~1 s) every
# time; one call for everything fails: LibreOffice 7.x silently stops after about 245 files
# (exit code 0; higebu/3gpp-mcp#4 found the same), and the CPU time per document grows with
# the documents already converted in the call (measured with 7.4 on these letters: 0.10 s
# each for the first 40, 0.19 s each for the next 120). Calls of 50 stay near the minimum.
PDF_CHUNK = 50
# Below this many letters per process, the ~1 s start of another LibreOffice costs more
# than converting on one core.
PDF_MIN_PER_PROCESS = 20


def _pdf_plan(files: list[Path], cpus: int) -> tuple[list[list[Path]], int]:
    """Even chunks of at most ``PDF_CHUNK`` files, and how many LibreOffices to run at once."""
    processes = max(1, min(cpus, len(files) // PDF_MIN_PER_PROCESS))
    count = max(processes, -(-len(files) // PDF_CHUNK))
    size = -(-len(files) // count)
    return [files[start : start + size] for start in range(0, len(files), size)], processes


def convert_to_pdf(
    docx_files: list[Path], soffice: str | None = None
) -> tuple[dict[Path, Path], list[Issue]]:
    """Convert ``docx_files`` to PDF with LibreOffice; each PDF lands beside its .docx.

    One ``soffice --convert-to pdf`` call converts a whole chunk of letters (never one
    call per letter: starting LibreOffice takes about a second). Chunks hold at most
    ``PDF_CHUNK`` files and run in parallel, one LibreOffice per core. Returns
    ``{docx: pdf}`` for the files converted and an Issue for each that was not.
    """
    soffice = soffice or find_soffice()
    if soffice is None:
        raise InputError("LibreOffice (soffice) is not installed: cannot write PDF letters.")
    if not docx_files:
        return {}, []
    chunks, processes = _pdf_plan(list(docx_files), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=processes) as pool:
        results = list(pool.map(lambda chunk: _convert_chunk(chunk, soffice), chunks))
    converted: dict[Path, Path] = {}
    issues: list[Issue] = []
    for chunk_converted, chunk_issues in results:
        converted.update(chunk_converted)
        issues.extend(chunk_issues)
    return converted, issues


def _convert_chunk(docx_files: list[Path], soffice: str) -> tuple[dict[Path, Path], list[Issue]]:
    with tempfile.TemporaryDirectory(prefix="receivables-pdf-") as scratch:
        scratch_path = Path(scratch)
        outdir = scratch_path / "pdf"
        # A private profile: a LibreOffice the clerk has open would otherwise take the job
        # and convert nothing, and parallel calls would lock each other out.
        profile = (scratch_path / "profile").as_uri()
        command = [
            soffice, "--headless", "--norestore", "--nolockcheck", "--nodefault",
            f"-env:UserInstallation={profile}",
            "--convert-to", "pdf", "--outdir", str(outdir),
            *[str(path) for path in docx_files],
        ]  # fmt: skip
        timeout = 60 + 3 * len(docx_files)
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
            message = f"exit code {done.returncode}: {done.stderr.strip()[-300:] or 'no message'}"
        except subprocess.TimeoutExpired:
            message = f"LibreOffice did not finish in {timeout} s"
        converted: dict[Path, Path] = {}
        issues: list[Issue] = []
        for path in docx_files:
            produced = outdir / (path.stem + ".pdf")
            if produced.exists():
                target = path.with_suffix(".pdf")
                shutil.move(str(produced), str(target))
                converted[path] = target
            else:
                issues.append(
                    Issue(
                        Location(file=path.name),
                        f"LibreOffice wrote no PDF for this letter ({message})",
                        Severity.ERROR,
                    )
                )
    return converted, issues
