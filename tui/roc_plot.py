"""A ROC curve drawn with characters, for the eval screen (no image support needed in the terminal)."""

from __future__ import annotations


def roc_lines(fpr: list[float], tpr: list[float], width: int = 40, height: int = 16) -> list[str]:
    """Rows top (TPR 1) to bottom (TPR 0); '·' is the chance diagonal, '•' the curve, axes labelled."""
    grid = [[" "] * width for _ in range(height)]

    def cell(x: float, y: float) -> tuple[int, int]:
        col = min(width - 1, max(0, round(x * (width - 1))))
        row = min(height - 1, max(0, round((1 - y) * (height - 1))))
        return row, col

    for k in range(width):
        r, c = cell(k / (width - 1), k / (width - 1))
        grid[r][c] = "·"
    # Walk the curve finely so steps between stored points are drawn too.
    for (x0, y0), (x1, y1) in zip(zip(fpr, tpr), zip(fpr[1:], tpr[1:])):
        steps = max(2, int(max(abs(x1 - x0) * width, abs(y1 - y0) * height) * 2))
        for s in range(steps + 1):
            r, c = cell(x0 + (x1 - x0) * s / steps, y0 + (y1 - y0) * s / steps)
            grid[r][c] = "•"
    lines = []
    for r, row in enumerate(grid):
        label = "1.0" if r == 0 else "0.0" if r == height - 1 else "TPR" if r == height // 2 else ""
        lines.append(f"{label:>3} │" + "".join(row))
    lines.append("    └" + "─" * width)
    lines.append("     0.0" + "FPR".center(width - 8) + "1.0")
    return lines
