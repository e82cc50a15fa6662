"""The ``torch`` backend: the exact reference rasterizer (reference §4) in plain tensor code.

Points are projected, culled and sorted front to back once, binned into screen tiles, and each tile is
composited from discrete fragments: a pixel takes the fragments of the discs that cover its centre in
camera-z order, collapses exact depth ties (a depth peel keeps only fragments strictly behind the previous
layer), and composites the first K of them front to back. Work is bounded per tile and per chunk of
fragments, so memory stays bounded at any resolution; the device is that of the input tensors.
"""

from __future__ import annotations

import torch

from ..camera import Camera
from .base import DeviceImage, RasterOutput, RasterSettings
from .projection import ProjectedPoints, project_points


class TorchRasterizer:
    """Reference rasterizer; runs on CPU or GPU, used as the oracle for the other backends."""

    name = "torch"

    def __init__(self, tile: int = 128, max_fragments: int = 1 << 22) -> None:
        self.tile = tile
        self.max_fragments = max_fragments

    def render(self, frame, colour_model, camera: Camera, colour, settings: RasterSettings) -> DeviceImage:
        from ..colour import evaluate_colour

        centre = torch.as_tensor(camera.centre, dtype=torch.float32, device=frame.xyz.device)
        rgb = evaluate_colour(frame, colour_model, centre, colour)
        output = self.rasterize(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings)
        return DeviceImage(camera.width, camera.height, settings.background, camera.far,
                           1 if settings.solid else settings.layers, frame.n_points, output=output)

    def rasterize(self, xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor,
                  camera: Camera, settings: RasterSettings) -> RasterOutput:
        H, W, device = camera.height, camera.width, xyz.device
        layers = 1 if settings.solid else settings.layers
        points = project_points(xyz, radius, alpha, camera, settings)
        colour, opacity = rgb.float()[points.index], alpha.float()[points.index]

        out_rgb = torch.zeros(H, W, 3, device=device)
        transmittance = torch.ones(H, W, device=device)
        depth = torch.full((H, W), float(camera.far), device=device)

        # Inclusive pixel bounding box of each disc (the exact coverage test happens per fragment).
        x0 = torch.floor(points.u - points.radius - 0.5).clamp(0, W - 1).long()
        x1 = torch.ceil(points.u + points.radius - 0.5).clamp(0, W - 1).long()
        y0 = torch.floor(points.v - points.radius - 0.5).clamp(0, H - 1).long()
        y1 = torch.ceil(points.v + points.radius - 0.5).clamp(0, H - 1).long()
        for (tx0, ty0, tx1, ty1), members in self._bin(x0, y0, x1, y1, W, H):
            tile = _TileState(tx1 - tx0, ty1 - ty0, device)
            bx0, bx1 = x0[members].clamp(min=tx0), x1[members].clamp(max=tx1 - 1)
            by0, by1 = y0[members].clamp(min=ty0), y1[members].clamp(max=ty1 - 1)
            sizes = ((bx1 - bx0 + 1) * (by1 - by0 + 1)).clamp_min(0)
            for chunk in _chunks(sizes, self.max_fragments):
                if tile.full(layers):
                    break
                tile.add(members[chunk], bx0[chunk] - tx0, by0[chunk] - ty0, bx1[chunk] - bx0[chunk] + 1,
                         sizes[chunk], points, colour, opacity, (tx0, ty0), layers, settings.solid)
            out_rgb[ty0:ty1, tx0:tx1] = tile.colour.view(ty1 - ty0, tx1 - tx0, 3)
            transmittance[ty0:ty1, tx0:tx1] = tile.transmittance.view(ty1 - ty0, tx1 - tx0)
            depth[ty0:ty1, tx0:tx1] = torch.where(tile.count > 0, tile.depth, depth.new_tensor(camera.far)
                                                  ).view(ty1 - ty0, tx1 - tx0)
        background = torch.tensor(settings.background, dtype=torch.float32, device=device)
        out_rgb = out_rgb + background * transmittance[..., None]
        return RasterOutput(rgb=out_rgb, alpha=1.0 - transmittance, depth=depth)

    def _bin(self, x0: torch.Tensor, y0: torch.Tensor, x1: torch.Tensor, y1: torch.Tensor, W: int, H: int):
        """Yield (tile rectangle, indices of the sorted points touching it in front-to-back order)."""
        t = self.tile
        tiles_x = (W + t - 1) // t
        tx0, tx1, ty0, ty1 = x0 // t, x1 // t, y0 // t, y1 // t
        counts = (tx1 - tx0 + 1) * (ty1 - ty0 + 1)
        point = torch.repeat_interleave(torch.arange(len(x0), device=x0.device), counts)
        local = torch.arange(len(point), device=x0.device) - torch.repeat_interleave(
            torch.cumsum(counts, 0) - counts, counts)
        span = (tx1 - tx0 + 1)[point]
        tile_id = (ty0[point] + local // span) * tiles_x + tx0[point] + local % span
        tile_id, order = torch.sort(tile_id, stable=True)  # stable: points stay front to back per tile
        point = point[order]
        ids, counts = torch.unique_consecutive(tile_id, return_counts=True)
        starts = torch.cumsum(counts, 0) - counts
        for tid, start, count in zip(ids.tolist(), starts.tolist(), counts.tolist()):
            ty, tx = divmod(tid, tiles_x)
            rect = (tx * t, ty * t, min(W, (tx + 1) * t), min(H, (ty + 1) * t))
            yield rect, point[start:start + count]


def _chunks(sizes: torch.Tensor, budget: int):
    """Consecutive slices of points whose fragment counts add up to about ``budget`` each."""
    ends = torch.cumsum(sizes, 0)
    start, total = 0, len(sizes)
    while start < total:
        base = int(ends[start - 1]) if start else 0
        stop = int(torch.searchsorted(ends, base + budget, right=True))
        stop = max(stop, start + 1)
        yield slice(start, stop)
        start = stop


class _TileState:
    """Per-pixel compositing state of one tile, updated chunk by chunk in front-to-back order."""

    def __init__(self, width: int, height: int, device: torch.device) -> None:
        n = width * height
        self.width = width
        self.colour = torch.zeros(n, 3, device=device)
        self.transmittance = torch.ones(n, device=device)
        self.depth = torch.zeros(n, device=device)
        self.last_z = torch.full((n,), float("-inf"), device=device)
        self.count = torch.zeros(n, dtype=torch.long, device=device)

    def full(self, layers: int) -> bool:
        return bool((self.count >= layers).all())

    def add(self, members: torch.Tensor, bx0: torch.Tensor, by0: torch.Tensor, bw: torch.Tensor,
            sizes: torch.Tensor, points: ProjectedPoints, colour: torch.Tensor, opacity: torch.Tensor,
            origin: tuple[int, int], layers: int, solid: bool) -> None:
        device = members.device
        owner = torch.repeat_interleave(torch.arange(len(members), device=device), sizes)
        local = torch.arange(len(owner), device=device) - torch.repeat_interleave(torch.cumsum(sizes, 0) - sizes,
                                                                                   sizes)
        px = bx0[owner] + local % bw[owner]
        py = by0[owner] + local // bw[owner]
        point = members[owner]
        dx = px.float() + (origin[0] + 0.5) - points.u[point]
        dy = py.float() + (origin[1] + 0.5) - points.v[point]
        ratio = (dx * dx + dy * dy) / points.radius[point] ** 2
        inside = ratio < 1.0  # the disc covers the pixel centre: |pointcoord − 0.5|² < 0.25
        pixel, point, ratio = (py * self.width + px)[inside], point[inside], ratio[inside]

        pixel, order = torch.sort(pixel, stable=True)  # fragments arrive front to back: keep that per pixel
        point, ratio = point[order], ratio[order]
        z = points.z[point]
        first = torch.ones_like(pixel, dtype=torch.bool)
        first[1:] = pixel[1:] != pixel[:-1]
        previous_z = torch.where(first, self.last_z[pixel], torch.roll(z, 1))
        distinct = z != previous_z  # an exact depth tie with the layer in front is not a new layer
        pixel, point, ratio, first = pixel[distinct], point[distinct], ratio[distinct], first[distinct]
        if len(pixel) == 0:
            return
        first[0] = True
        first[1:] = pixel[1:] != pixel[:-1]
        position = torch.arange(len(pixel), device=device)
        segment_start = torch.cummax(torch.where(first, position, torch.zeros_like(position)), 0).values
        rank = position - segment_start
        layer = self.count[pixel] + rank
        keep = layer < layers
        pixel, point, ratio, rank = pixel[keep], point[keep], ratio[keep], rank[keep]
        weight = opacity[point] if solid else opacity[point] * (1.0 - ratio)
        shade = colour[point]
        z = points.z[point]
        for r in range(int(rank.max()) + 1 if len(rank) else 0):
            at = rank == r  # at most one fragment per pixel
            pix, w = pixel[at], weight[at]
            if solid:
                self.colour[pix] = shade[at]
            else:
                self.colour[pix] += shade[at] * (w * self.transmittance[pix])[:, None]
            self.transmittance[pix] = self.transmittance[pix] * (1.0 - w)
            self.depth[pix] = z[at]
            self.last_z[pix] = z[at]
            self.count[pix] += 1
