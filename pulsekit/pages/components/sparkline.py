"""Tiny inline charts as SVG polyline points (computed on the server; no list in table cells)."""

from __future__ import annotations


def sparkline_points(values: list[int], width: int = 96, height: int = 24) -> str:
    """'x,y x,y …' for an SVG polyline scaled to the box (flat line at the bottom when empty)."""
    if not values:
        return f'0,{height - 1} {width},{height - 1}'
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    return ' '.join(f'{i * step:.1f},{height - 1 - (v / top) * (height - 3):.1f}' for i, v in enumerate(values))


SPARKLINE_SLOT_HTML = (
    '<q-td :props="props"><svg width="96" height="24" class="block">'
    '<polyline :points="props.row.spark" fill="none" stroke="#6366f1" stroke-width="1.5" /></svg></q-td>'
)
