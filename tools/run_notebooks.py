"""Execute the lab's notebooks headless, in order, into a build folder (``make run``).

For each notebook it writes the executed copy and an HTML rendering into ``--out`` and prints
one line: status, seconds, and the final test accuracy when the notebook reports one (a line
``final test accuracy: 0.xxxx`` in its output). A failing notebook is reported with the cell
that failed, and the program exits non-zero.

    python tools/run_notebooks.py [--out build] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
ACCURACY = re.compile(r"final test accuracy:\s*([0-9.]+)")


def final_accuracy(nb) -> float | None:
    """The last ``final test accuracy: X`` printed by any cell, or None."""
    found = None
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if output.get("output_type") in ("execute_result", "display_data"):
                text = output.get("data", {}).get("text/plain", "")
            for match in ACCURACY.finditer(text):
                found = float(match.group(1))
    return found


def run_notebook(path: Path, out: Path, timeout: int = 600) -> dict:
    """Execute one notebook; write NAME.ipynb and NAME.html into ``out``; return a summary."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as exc:
        error = exc
    seconds = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out / path.name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
    summary = {"name": path.stem, "ok": error is None, "seconds": seconds,
               "accuracy": final_accuracy(nb), "error": None}
    if error is not None:
        failed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                  and any(o.get("output_type") == "error" for o in c.get("outputs", []))
                  and "raises-exception" not in c.metadata.get("tags", [])]
        where = f"cell {failed[0]}" if failed else "a cell"
        summary["error"] = f"{where} failed:\n{error}"
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: notebooks/lab*/[0-9]*.ipynb in order)")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output folder")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("lab*/[0-9]*.ipynb"),
                                         key=lambda p: p.name)
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 1
    failures = 0
    width = max((len(p.stem) for p in paths), default=0)  # s["name"] is the notebook's stem
    for path in paths:
        if not path.is_file():
            print(f"FAIL  {path}: no such notebook", flush=True)
            failures += 1
            continue
        s = run_notebook(path, args.out, args.timeout)
        acc = "" if s["accuracy"] is None else f"  final test accuracy {s['accuracy']:.4f}"
        print(f"{'ok  ' if s['ok'] else 'FAIL'}  {s['name']:<{width}} {s['seconds']:6.1f} s{acc}",
              flush=True)
        if not s["ok"]:
            failures += 1
            print(s["error"], flush=True)
    print(f"executed notebooks and HTML in {args.out}/")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
