"""Print the library's shape: the largest modules, the longest functions, where presets are written,
and how long ``ganlib --help`` takes against ``python -c "import torch"``.

Run from the repository root: ``python scripts/layout_report.py`` (the numbers of the closing note
of the architecture redesign came from it).
"""

import ast
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules():
    return sorted((ROOT / "src" / "ganlib").rglob("*.py"))


def longest_functions(top=5):
    out = []
    for path in modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(ROOT / 'src')}:{node.lineno} {node.name}"))
    return sorted(out, reverse=True)[:top]


def chapter_code():
    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] == "code":
                yield nb.name, "".join(cell["source"])


def preset_writes():
    """Count by_scale(...) calls (each writes up to three preset values) in the library and the chapters."""
    lib = sum(len(re.findall(r"\bby_scale\(", p.read_text())) for p in modules())
    book = sum(len(re.findall(r"\bby_scale\(", src)) for _, src in chapter_code())
    return lib, book


def wall(cmd, repeats=5):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


if __name__ == "__main__":
    sizes = sorted(((len(p.read_text().splitlines()), str(p.relative_to(ROOT / "src"))) for p in modules()), reverse=True)
    print("largest modules (lines):", ", ".join(f"{name} {n}" for n, name in sizes[:5]))
    print("longest functions (lines):", ", ".join(f"{name} {n}" for n, name in longest_functions()))
    lib, book = preset_writes()
    print(f"by_scale calls: library {lib}, chapters {book}")
    exe = str(Path(sys.executable).parent / "ganlib")
    t_torch = wall([sys.executable, "-c", "import torch"])
    t_help = wall([exe, "--help"])
    t_import = wall([sys.executable, "-c", "import ganlib"])
    mpl = subprocess.run([sys.executable, "-c", "import sys, ganlib.cli; print('matplotlib' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    print(f"median of 5: import torch {t_torch:.2f} s, ganlib --help {t_help:.2f} s ({t_help / t_torch:.2f}x), "
          f"import ganlib {t_import:.2f} s; the CLI loads matplotlib: {mpl}")
