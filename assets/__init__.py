"""Small data shipped with k4d-viewer: the built-in demo model (made by ``make_demo.py``)."""

from __future__ import annotations

from pathlib import Path

DEMO_MODEL = Path(__file__).with_name("demo.npz")
