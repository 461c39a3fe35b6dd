"""Benchmark: demand letters per second, .docx and PDF, for a ledger of 500 customers.

    .venv/bin/python bench/bench_letters.py [--customers 500] [--naive 100] [--no-pdf]

Builds a synthetic ledger (every customer at a letter stage, three overdue invoices each,
English, Spanish and Hungarian), then times in one run:

- ``write_letters`` (templates prepared once, Jinja rendered straight into the XML);
- naive docxtpl on the same contexts (``DocxTemplate(path).render(...).save(...)`` per
  letter, which re-reads and re-cleans the template every time), on ``--naive`` letters;
- the PDF conversion of all letters by ``convert_to_pdf`` (LibreOffice calls of
  ``PDF_CHUNK`` letters, one per core; skipped without LibreOffice).

Wall-clock figures need an otherwise idle machine (LibreOffice is CPU-bound); the CPU
figures printed beside them hold under load too.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from docxtpl import DocxTemplate

from receivables import letters as shell
from receivables.core import frame as F
from receivables.core import letters as core
from receivables.core.classify import classify
from receivables.core.rules import load_rules

AS_OF = date(2026, 3, 31)


def synthetic_ledger(customers: int, seed: int = 7) -> pd.DataFrame:
    """A ledger frame with ``customers`` customers, each with three overdue invoices."""
    rng = random.Random(seed)
    rows = []
    for number in range(customers):
        days = rng.choice([15, 45, 75, 120])  # notice, demand, final, legal
        language = rng.choice(["en", "es", "hu"])
        for k in range(3):
            amount = rng.randrange(10_000, 2_000_000)
            paid = amount // 4 if k == 1 else 0
            rows.append(
                {
                    F.ROW: len(rows) + 2,
                    "customer": f"Customer {number:04d} & Co <{language.upper()}>",
                    "customer_id": f"C{number:05d}",
                    "invoice": f"INV-{number:04d}-{k}",
                    "invoice_date": pd.Timestamp(AS_OF - timedelta(days=days + 30 + k)),
                    "due_date": pd.Timestamp(AS_OF - timedelta(days=days + k)),
                    "currency": "EUR",
                    F.AMOUNT: amount,
                    F.PAID: paid,
                    F.BALANCE: amount - paid,
                    "contact": f"Contact {number}",
                    "address": f"Street {number}\n{10000 + number} City",
                    "language": language,
                    "disputed": False,
                    "promise_date": pd.NaT,
                }
            )
    frame = pd.DataFrame(rows)
    frame[F.AMOUNT] = frame[F.AMOUNT].astype("Int64")
    frame[F.PAID] = frame[F.PAID].astype("Int64")
    frame["promise_date"] = pd.to_datetime(frame["promise_date"])
    return frame


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--naive", type=int, default=100, help="letters for naive docxtpl")
    parser.add_argument("--no-pdf", action="store_true")
    args = parser.parse_args(argv)

    rules, _ = load_rules()
    classified = classify(synthetic_ledger(args.customers), rules, AS_OF).frame
    work = Path(tempfile.mkdtemp(prefix="bench-letters-"))
    try:
        start = time.perf_counter()
        jobs, _ = core.letter_jobs(classified, rules, AS_OF)
        jobs_seconds = time.perf_counter() - start

        shell._PREPARED.clear()  # include preparing the templates in the timing
        start, cpu = time.perf_counter(), time.process_time()
        result = shell.write_letters(classified, rules, AS_OF, work / "fast")
        fast_seconds = time.perf_counter() - start
        fast_cpu = time.process_time() - cpu
        count = len(result.records)
        print(f"letters: {count} for {args.customers} customers")
        print(f"  letter jobs (core, contexts):   {jobs_seconds:6.2f} s")
        print(
            f"  write_letters .docx:            {fast_seconds:6.2f} s "
            f"= {count / fast_seconds:6.1f} letters/s "
            f"(CPU {fast_cpu:.2f} s = {count / fast_cpu:.0f} letters/CPU-s)"
        )

        files = shell.template_files(shell.packaged_templates_dir())
        naive_dir = work / "naive"
        naive_dir.mkdir()
        sample = jobs[: args.naive]
        start, cpu = time.perf_counter(), time.process_time()
        for job in sample:
            template = DocxTemplate(files[(job.template, job.language)])
            template.render(dict(job.context), autoescape=True)
            template.save(naive_dir / f"{job.reference}.docx")
        naive_seconds = time.perf_counter() - start
        naive_cpu = time.process_time() - cpu
        naive_rate = len(sample) / naive_seconds
        print(
            f"  naive docxtpl .docx ({len(sample)}):     {naive_seconds:6.2f} s "
            f"= {naive_rate:6.1f} letters/s "
            f"(CPU {len(sample) / naive_cpu:.0f} letters/CPU-s; "
            f"fast path {(count / fast_cpu) / (len(sample) / naive_cpu):.1f}x per CPU-s)"
        )

        soffice = shell.find_soffice()
        if args.no_pdf or soffice is None:
            print("  PDF: skipped" + ("" if args.no_pdf else " (LibreOffice not installed)"))
            return 0
        paths = [work / "fast" / record.file for record in result.records]
        start, children = time.perf_counter(), _children_cpu()
        converted, issues = shell.convert_to_pdf(paths, soffice)
        pdf_seconds = time.perf_counter() - start
        pdf_cpu = _children_cpu() - children
        done = max(len(converted), 1)
        print(
            f"  PDF (calls of {shell.PDF_CHUNK}, one per core): {pdf_seconds:6.2f} s "
            f"= {pdf_seconds / done:.3f} s/letter "
            f"(LibreOffice CPU {pdf_cpu / done:.3f} s/letter; "
            f"{len(converted)} PDFs, {len(issues)} failures)"
        )
        return 0 if not issues else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
