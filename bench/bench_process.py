"""Time `receivables process` against the fastest read and the naive pipeline, in one run.

    python bench/bench_process.py [--rows 100000 500000] [--naive-max 100000]

For each size it builds (once, cached in bench/.cache/) a ledger of N rows x 15 columns
written by openpyxl, then measures in fresh subprocesses (so peak RSS is per task):
  1. fastexcel: read the sheet into pandas (the fastest way to read the same file);
  2. receivables process: the whole job, read + classify + plan + write;
  3. naive: pandas.read_excel(engine="openpyxl"), then openpyxl load_workbook, add a
     sheet, save (only up to --naive-max rows: it takes minutes beyond).
The package's bytecode is written first, as installing it does. It prints seconds, peak
RSS and the ratios process/fastexcel and naive/process, against the goals: process at
most 3x fastexcel, at least 12x faster than naive, and at most 1.2 GB peak RSS at 500k
rows.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
AS_OF = "2026-10-31"
GOAL_RATIO = 3.0  # process / fastexcel, at most
GOAL_NAIVE = 12.0  # naive / process, at least
GOAL_PEAK_MB = 1200  # peak RSS of process at 500k rows, at most
HEADERS = [
    "Customer",
    "Customer ID",
    "Invoice",
    "Invoice Date",
    "Due Date",
    "Terms",
    "Currency",
    "Amount",
    "Paid",
    "Balance",
    "Owner",
    "Region",
    "Contact",
    "Email",
    "Notes",
]


def build_ledger(rows: int) -> Path:
    """A realistic ledger of ``rows`` items (cached)."""
    path = CACHE / f"ledger_{rows}.xlsx"
    if path.exists():
        return path
    from openpyxl import Workbook

    CACHE.mkdir(exist_ok=True)
    rng = random.Random(rows)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Ledger")
    sheet.append(HEADERS)
    start = date(2024, 11, 1)
    for index in range(rows):
        invoiced = start + timedelta(days=rng.randint(0, 730))
        amount = round(rng.uniform(10, 50000), 2)
        paid = round(amount * rng.choice([0, 0, 0, 0.5, 1]), 2)
        sheet.append(
            [
                f"Customer {rng.randint(1, 5000)}",
                f"C{rng.randint(1, 5000):05d}",
                f"INV-{index:07d}",
                invoiced,
                invoiced + timedelta(days=30),
                30,
                rng.choice(["EUR", "USD", "GBP"]),
                amount,
                paid,
                round(amount - paid, 2),
                rng.choice(["Ana", "Ben", "Chen", "Dora"]),
                rng.choice(["North", "South", "East"]),
                "John Doe",
                "ap@example.com",
                "note",
            ]
        )
    temp = path.with_suffix(".tmp.xlsx")
    book.save(temp)
    temp.rename(path)
    return path


TASKS = {
    "fastexcel": """
        import fastexcel
        frame = fastexcel.read_excel(PATH).load_sheet(0).to_pandas()
        assert len(frame) == ROWS
    """,
    "process": """
        from datetime import date
        from pathlib import Path
        from receivables.pipeline import run
        report = run(Path(PATH), Path(OUT), date.fromisoformat(AS_OF))
        assert len(report.outcome.classified) == ROWS
    """,
    "naive": """
        import pandas as pd
        from openpyxl import load_workbook
        frame = pd.read_excel(PATH, engine="openpyxl")
        book = load_workbook(PATH)
        sheet = book.create_sheet("Collection Plan")
        for row in frame.head(1000).itertuples(index=False):
            sheet.append(list(row))
        book.save(OUT)
    """,
}


def measure(task: str, path: Path, rows: int) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one task in a fresh interpreter."""
    out = CACHE / f"out_{task}_{rows}.xlsx"
    code = (
        textwrap.dedent(f"""
        import json, resource, time
        PATH, OUT, ROWS, AS_OF = {str(path)!r}, {str(out)!r}, {rows}, {AS_OF!r}
        start = time.perf_counter()
    """)
        + textwrap.dedent(TASKS[task])
        + textwrap.dedent("""
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps([seconds, peak]))
    """)
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{task} failed:\n{result.stderr}")
    seconds, peak = json.loads(result.stdout.strip().splitlines()[-1])
    return seconds, peak


def compile_package() -> None:
    """Write the package's bytecode, as installing a wheel does, so that each process
    timed loads it instead of compiling every module from source (Python never writes it
    itself where PYTHONDONTWRITEBYTECODE is set; fastexcel and pandas have theirs)."""
    import compileall

    import receivables

    compileall.compile_dir(Path(receivables.__file__).parent, quiet=1)


def main() -> None:
    """Run the benchmark and print a table with the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 500_000])
    parser.add_argument("--naive-max", type=int, default=100_000)
    args = parser.parse_args()
    compile_package()
    print(f"{'rows':>8} {'task':>10} {'seconds':>8} {'peak MB':>8}")
    per_row = []
    for rows in args.rows:
        path = build_ledger(rows)
        results, peaks = {}, {}
        for task in ("fastexcel", "process", "naive"):
            if task == "naive" and rows > args.naive_max:
                continue
            seconds, peak = measure(task, path, rows)
            results[task], peaks[task] = seconds, peak
            print(f"{rows:>8} {task:>10} {seconds:>8.2f} {peak:>8.0f}")
        ratio = results["process"] / results["fastexcel"]
        line = f"{rows:>8} process/fastexcel = {ratio:.2f}x (goal <= {GOAL_RATIO:g}x)"
        if "naive" in results:
            line += (
                f"; naive/process = {results['naive'] / results['process']:.1f}x "
                f"(goal >= {GOAL_NAIVE:g}x)"
            )
        if rows >= 500_000:
            line += f"; process peak {peaks['process']:.0f} MB (goal <= {GOAL_PEAK_MB} MB)"
        print(line)
        per_row.append((rows, results["process"] / rows * 1e6))
    if len(per_row) > 1:
        print(
            "process microseconds per row: "
            + ", ".join(f"{rows}: {us:.1f}" for rows, us in per_row)
        )


if __name__ == "__main__":
    main()
