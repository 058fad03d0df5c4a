"""Regenerate docs/architecture.svg (the package graph, drawn from the real imports) and print the
package table of docs/architecture.md (what each package owns and may import, from its __init__ docstring).

    .venv/bin/python docs/architecture.py            # writes docs/architecture.svg, prints the table
    .venv/bin/python docs/architecture.py --table    # the table only (tests/test_layering.py compares it)
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP = ("db", "trainer", "engine", "tui")
TOP_RULES = {"db": "nothing of the project", "trainer": "db", "tui": "db, engine"}


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "engine" and len(parts) > 1 else parts[0]


def modules() -> dict[str, Path]:
    out = {}
    for top in TOP:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            out[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = path
    return out


def imports(module: str, path: Path) -> set[str]:
    """Project modules a file imports, relative imports resolved."""
    own = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own[:len(own) - node.level + 1]
                found.add(".".join(base + (node.module.split(".") if node.module else [])))
            elif node.module:
                found.add(node.module)
    return {m for m in found if m.split(".")[0] in TOP}


def package_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, path in modules().items():
        src = package_of(module)
        if src == "engine":  # engine/__init__.py holds nothing
            continue
        for target in imports(module, path):
            dst = package_of(target)
            if dst != src and dst != "engine":
                edges.setdefault(src, set()).add(dst)
        edges.setdefault(src, set())
    return edges


def described() -> list[tuple[str, str, str]]:
    """(package, what it owns, may import) from each engine package's docstring; the top packages' rules."""
    rows = []
    for top in TOP:
        init = ROOT / top / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        owns = doc.split("\n\n")[0].replace("\n", " ")
        if top != "engine":
            rows.append((top, owns, TOP_RULES[top]))
            continue
        for sub in sorted((ROOT / "engine").glob("*/__init__.py")):
            d = ast.get_docstring(ast.parse(sub.read_text())) or ""
            found = re.search(r"May import: ([\w., ]+?)\.?\s*$", d, re.M)
            may = found.group(1) if found else "every engine package"
            rows.append((f"engine.{sub.parent.name}", d.split("\n\n")[0].replace("\n", " "), may))
    return rows


def table() -> str:
    lines = ["| package | what it owns | may import |", "| --- | --- | --- |"]
    lines += [f"| `{p}` | {owns} | {may} |" for p, owns, may in described()]
    return "\n".join(lines)


def layers(edges: dict[str, set[str]]) -> dict[str, int]:
    depth: dict[str, int] = {}

    def d(p: str, seen=()) -> int:
        if p not in depth:
            depth[p] = 1 + max((d(q, seen + (p,)) for q in edges.get(p, ()) if q not in seen), default=-1)
        return depth[p]

    for p in edges:
        d(p)
    return depth


def draw(edges: dict[str, set[str]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    depth = layers(edges)
    rows: dict[int, list[str]] = {}
    for p in sorted(depth, key=lambda p: (depth[p], p)):
        rows.setdefault(depth[p], []).append(p)
    pos = {}
    width = max(len(r) for r in rows.values())
    for level, names in rows.items():
        for k, name in enumerate(names):
            pos[name] = ((k + 0.5) * width / len(names), level)
    fig, ax = plt.subplots(figsize=(2.1 * width, 1.35 * (max(rows) + 1)))
    for src, targets in edges.items():
        for dst in targets:
            (x0, y0), (x1, y1) = pos[src], pos[dst]
            to_db = dst == "db"  # every package builds on db: those arrows stay in the background
            ax.annotate("", xy=(x1, y1 + 0.18), xytext=(x0, y0 - 0.18),
                        arrowprops=dict(arrowstyle="->", color="#ccd" if to_db else "#446", lw=0.6 if to_db else 1.0,
                                        linestyle=":" if to_db else "-", shrinkA=2, shrinkB=2))
    for name, (x, y) in pos.items():
        color = "#dbe9f6" if name.startswith("engine.") else "#f3e3c7"
        ax.text(x, y, name, ha="center", va="center", fontsize=9, family="monospace",
                bbox=dict(boxstyle="round,pad=0.35", fc=color, ec="#445"))
    ax.set_xlim(-0.2, width + 0.2)
    ax.set_ylim(-0.6, max(rows) + 0.6)
    ax.axis("off")
    ax.set_title("recchat packages: an arrow is 'imports' (drawn from the code by docs/architecture.py)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, format="svg", metadata={"Date": None})
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", action="store_true", help="print the table only")
    args = ap.parse_args()
    if not args.table:
        draw(package_edges(), ROOT / "docs" / "architecture.svg")
    print(table())


if __name__ == "__main__":
    main()
