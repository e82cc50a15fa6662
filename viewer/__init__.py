"""k4d-viewer: a viewer and headless renderer for 4K4D-style volumetric video.

The package is a library first (model I/O, colour evaluation, cameras, rasterizer backends) with thin
clients on top (the `k4d-viewer` command line).
"""

__version__ = "0.1.0"
