"""Baking released 4K4D weights (``1599.npz``) and a capture dataset into playable per-frame arrays, in pure
PyTorch (no tiny-cuda-nn), following docs/4k4d-bake.md of the shared specification."""
