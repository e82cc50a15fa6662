"""Tile-based compute rasterizer (reference §4) in Triton: project → order → bin → composite per tile.

1. ``_project_kernel``: per point, camera transform, culling (alpha threshold, near/far, centre off screen),
   pixel radius max(f_y·r/z·scale, 0.5), the box of TILE×TILE screen tiles its disc may touch and how many
   of them it reaches (``_touches``: ~25-30% fewer pairs than the whole box), and a packed 32-byte record
   (u, v, z, radius², alpha, r, g, b) that the compositing kernel reads in one cache sector.
2. Points sorted by camera z once (``torch.sort`` of N fp32 keys, stable: equal depths keep point order).
3. ``_emit_kernel``: walking points in that order, one (tile, point) pair per reached tile, written at the
   prefix-sum offset; a stable sort of the 32-bit tile keys then leaves every tile's points front to back.
   (Two short sorts move ~3x fewer bytes than one sort of 64-bit (tile, depth) keys.)
4. ``_composite_kernel``: one program per tile, two pixels per thread. Each pixel walks its tile's points in
   order, BATCH at a time (unrolled, so the loads of a batch are issued together), and composites exactly as a
   depth peel would: the disc test (pixel centre strictly inside), the exact-tie rule, the K-layer cap, front
   to back C += c·α·T, T *= 1 − α. A tile stops once every pixel has K layers or a transmittance below 1e-4
   (a colour change below 1e-4, far under the 2/255 test tolerance).

Exact depth ties follow the depth-peel rule of the reference: of several fragments at exactly the same fp32
camera z in a pixel only the first (in point order) takes a layer; equal depths are adjacent in a tile's list,
so a covering fragment whose z equals the previous covering fragment's z is dropped. Ties are common with fp16
positions seen by a camera aligned with a world axis.

Outputs: accum (H,W,4) fp32 = premultiplied rgb and transmittance, rows top first; depth (H,W) fp32 = camera z
of the last composited layer, 0 where empty. With ``display`` given, accum is written in fp16 there instead
(see ``composite``). Tile size and batch: benchmarks/profile_raster.py measures the choices.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from . import params as P

RECORD = 8  # floats per point record: u, v, z, radius², alpha, r, g, b
TIGHT = True  # pairs only for the tiles a disc reaches, not its whole bounding box (profile_raster.py)
# warps per compositing tile: two pixels per thread (each record a thread loads serves both; H200, full scene
# at 4K: 0.62 ms with one warp per 8x8 tile vs 0.91 with two, profile_raster.py)
WARPS = {8: 1, 16: 4}
# records a pixel tests per unrolled step (8x8 tiles, full scene: 0.48 ms with 8 vs 0.61 with 16; 16x16 tiles
# were measured with 16 only)
BATCH = {8: 8, 16: 16}


@triton.jit
def _touches(tx, ty, u, v, r2, TILE: tl.constexpr):
    """Whether a disc (centre u, v, squared radius r2 in pixels) may cover a pixel centre of tile (tx, ty): the
    nearest point of the tile's pixel-centre rectangle lies inside it. Never false for a tile with a covered
    pixel (the compositing test is (dx² + dy²) / r2 < 1, and the slack covers rounding); emit and project call
    it with the same values, so they agree on every pair."""
    lo_x = (tx * TILE).to(tl.float32) + 0.5
    lo_y = (ty * TILE).to(tl.float32) + 0.5
    dx = u - tl.minimum(tl.maximum(u, lo_x), lo_x + (TILE - 1))
    dy = v - tl.minimum(tl.maximum(v, lo_y), lo_y + (TILE - 1))
    return dx * dx + dy * dy < r2 * 1.0001


@triton.jit
def _project_kernel(xyz_ptr, radius_ptr, alpha_ptr, rgb_ptr, n, params_ptr, width, height,
                    record_ptr, z_ptr, rect_ptr, count_ptr, TILE: tl.constexpr, TIGHT: tl.constexpr,
                    BLOCK: tl.constexpr):
    r00, r01, r02 = tl.load(params_ptr + P.R + 0), tl.load(params_ptr + P.R + 1), tl.load(params_ptr + P.R + 2)
    r10, r11, r12 = tl.load(params_ptr + P.R + 3), tl.load(params_ptr + P.R + 4), tl.load(params_ptr + P.R + 5)
    r20, r21, r22 = tl.load(params_ptr + P.R + 6), tl.load(params_ptr + P.R + 7), tl.load(params_ptr + P.R + 8)
    t0, t1, t2 = tl.load(params_ptr + P.T + 0), tl.load(params_ptr + P.T + 1), tl.load(params_ptr + P.T + 2)
    fx, skew, cx = tl.load(params_ptr + P.FX), tl.load(params_ptr + P.SKEW), tl.load(params_ptr + P.CX)
    fy, cy = tl.load(params_ptr + P.FY), tl.load(params_ptr + P.CY)
    near, far = tl.load(params_ptr + P.NEAR), tl.load(params_ptr + P.FAR)
    radius_scale, alpha_threshold = tl.load(params_ptr + P.RADIUS_SCALE), tl.load(params_ptr + P.ALPHA_THRESHOLD)
    i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = i < n
    i64 = i.to(tl.int64)
    x = tl.load(xyz_ptr + i64 * 3 + 0, mask=mask, other=0.0).to(tl.float32)
    y = tl.load(xyz_ptr + i64 * 3 + 1, mask=mask, other=0.0).to(tl.float32)
    z = tl.load(xyz_ptr + i64 * 3 + 2, mask=mask, other=0.0).to(tl.float32)
    alpha = tl.load(alpha_ptr + i64, mask=mask, other=0.0).to(tl.float32)
    radius = tl.load(radius_ptr + i64, mask=mask, other=0.0).to(tl.float32)
    cam_x = r00 * x + r01 * y + r02 * z + t0
    cam_y = r10 * x + r11 * y + r12 * z + t1
    cam_z = r20 * x + r21 * y + r22 * z + t2
    safe_z = tl.where(cam_z > 0, cam_z, 1.0)
    u = (fx * cam_x + skew * cam_y) / safe_z + cx
    v = fy * cam_y / safe_z + cy
    rpix = tl.maximum(fy * radius / safe_z * radius_scale, 0.5)
    valid = mask & (alpha > alpha_threshold) & (cam_z >= near) & (cam_z <= far)
    valid = valid & (u >= 0) & (u <= width) & (v >= 0) & (v <= height)
    px0 = tl.minimum(tl.maximum(tl.floor(u - rpix - 0.5), 0.0), width - 1.0).to(tl.int32)
    px1 = tl.minimum(tl.maximum(tl.ceil(u + rpix - 0.5), 0.0), width - 1.0).to(tl.int32)
    py0 = tl.minimum(tl.maximum(tl.floor(v - rpix - 0.5), 0.0), height - 1.0).to(tl.int32)
    py1 = tl.minimum(tl.maximum(tl.ceil(v + rpix - 0.5), 0.0), height - 1.0).to(tl.int32)
    tx0, tx1, ty0, ty1 = px0 // TILE, px1 // TILE, py0 // TILE, py1 // TILE
    r2 = rpix * rpix
    span = tx1 - tx0 + 1
    boxed = tl.where(valid, span * (ty1 - ty0 + 1), 0)
    if TIGHT:  # only the tiles of the box that the disc reaches (a disc covers π/4 of its box)
        count = tl.zeros([BLOCK], dtype=tl.int32)
        most = tl.max(boxed, axis=0)
        k = 0
        while k < most:
            count += ((k < boxed) & _touches(tx0 + k % span, ty0 + k // span, u, v, r2, TILE)).to(tl.int32)
            k += 1
    else:
        count = boxed
    r = tl.load(rgb_ptr + i64 * 3 + 0, mask=mask, other=0.0)
    g = tl.load(rgb_ptr + i64 * 3 + 1, mask=mask, other=0.0)
    b = tl.load(rgb_ptr + i64 * 3 + 2, mask=mask, other=0.0)
    # the record as one (BLOCK, 8) tile: 32 contiguous bytes per point, vector stores (a store per field,
    # 32 bytes apart, took 4x as long: 0.22 vs 0.056 ms for 2.26M points on the H200, profile_raster.py)
    col = tl.arange(0, 8)[None, :]
    packed = tl.where(col == 0, u[:, None], tl.where(col == 1, v[:, None], tl.where(
        col == 2, cam_z[:, None], tl.where(col == 3, r2[:, None], tl.where(col == 4, alpha[:, None], tl.where(
            col == 5, r[:, None], tl.where(col == 6, g[:, None], b[:, None])))))))
    tl.store(record_ptr + i64[:, None] * 8 + col, packed, mask=mask[:, None])
    col = tl.arange(0, 4)[None, :]
    corners = tl.where(col == 0, tx0[:, None], tl.where(col == 1, ty0[:, None], tl.where(
        col == 2, tx1[:, None], ty1[:, None])))
    tl.store(rect_ptr + i64[:, None] * 4 + col, corners, mask=mask[:, None])
    tl.store(z_ptr + i64, tl.where(valid, cam_z, float("inf")), mask=mask)
    tl.store(count_ptr + i64, count, mask=mask)


@triton.jit
def _emit_kernel(order_ptr, rect_ptr, count_ptr, ends_ptr, record_ptr, n, tiles_x, tiles_ptr, ids_ptr, capacity,
                 TILE: tl.constexpr, TIGHT: tl.constexpr, BLOCK: tl.constexpr):
    """Pairs of the points in depth order: rank r is point order[r]; its pairs end at ends[r]. Pairs at
    ``capacity`` or beyond are dropped (buffers sized before the count was known: the caller checks it)."""
    r = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = r < n
    point = tl.load(order_ptr + r, mask=mask, other=0)
    p64 = point.to(tl.int64)
    count = tl.load(count_ptr + p64, mask=mask, other=0)
    offset = tl.load(ends_ptr + r, mask=mask, other=0) - count
    tx0 = tl.load(rect_ptr + p64 * 4 + 0, mask=mask, other=0)
    ty0 = tl.load(rect_ptr + p64 * 4 + 1, mask=mask, other=0)
    tx1 = tl.load(rect_ptr + p64 * 4 + 2, mask=mask, other=0)
    ty1 = tl.load(rect_ptr + p64 * 4 + 3, mask=mask, other=0)
    span = tx1 - tx0 + 1
    boxed = tl.where(count > 0, span * (ty1 - ty0 + 1), 0)
    if TIGHT:
        u = tl.load(record_ptr + p64 * 8 + 0, mask=mask, other=0.0)
        v = tl.load(record_ptr + p64 * 8 + 1, mask=mask, other=0.0)
        r2 = tl.load(record_ptr + p64 * 8 + 3, mask=mask, other=0.0)
    most = tl.max(boxed, axis=0)
    written = tl.zeros([BLOCK], dtype=tl.int32)
    k = 0
    while k < most:
        tx = tx0 + k % span
        ty = ty0 + k // span
        active = k < boxed
        if TIGHT:
            active = active & _touches(tx, ty, u, v, r2, TILE)
        # at most ``count`` pairs (project's count of the same test; bounded anyway, so no rounding difference
        # between the two kernels can spill into the next point's pairs) and nothing past the buffers
        fits = active & (written < count) & (offset + written < capacity)
        tl.store(tiles_ptr + offset + written, ty * tiles_x + tx, mask=fits)
        tl.store(ids_ptr + offset + written, point.to(tl.int32), mask=fits)
        written += fits.to(tl.int32)
        k += 1


@triton.jit
def _composite_kernel(ids_ptr, starts_ptr, record_ptr, accum_ptr, depth_ptr, display_ptr, width, height,
                      tiles_x, layers,
                      SOLID: tl.constexpr, DISPLAY: tl.constexpr, TILE: tl.constexpr, BATCH: tl.constexpr):
    tile = tl.program_id(0)
    tx = tile % tiles_x
    ty = tile // tiles_x
    start = tl.load(starts_ptr + tile)
    end = tl.load(starts_ptr + tile + 1)
    p = tl.arange(0, TILE * TILE)
    px = tx * TILE + p % TILE
    py = ty * TILE + p // TILE
    centre_x = px.to(tl.float32) + 0.5
    centre_y = py.to(tl.float32) + 0.5
    red = tl.zeros([TILE * TILE], dtype=tl.float32)
    green = tl.zeros([TILE * TILE], dtype=tl.float32)
    blue = tl.zeros([TILE * TILE], dtype=tl.float32)
    transmittance = tl.full([TILE * TILE], 1.0, dtype=tl.float32)
    count = tl.zeros([TILE * TILE], dtype=tl.int32)
    depth = tl.zeros([TILE * TILE], dtype=tl.float32)
    last_z = tl.full([TILE * TILE], -1.0, dtype=tl.float32)  # z of the last covering fragment so far
    b = start
    while b < end:
        for k in tl.static_range(BATCH):
            in_range = b + k < end
            record = record_ptr + tl.load(ids_ptr + b + k, mask=in_range, other=0).to(tl.int64) * 8
            u = tl.where(in_range, tl.load(record + 0), -1e18)  # past the end: far away, covers nothing
            v = tl.load(record + 1)
            z = tl.load(record + 2)
            r2 = tl.load(record + 3)
            alpha = tl.load(record + 4)
            dx = centre_x - u
            dy = centre_y - v
            ratio = (dx * dx + dy * dy) / r2
            covering = ratio < 1.0
            new = covering & (z != last_z)  # an exact depth tie with the previous covering fragment: dropped
            last_z = tl.where(covering, z, last_z)
            taken = new & (count < layers)
            count += new.to(tl.int32)
            if SOLID:
                weight = tl.where(taken, alpha, 0.0)
            else:
                weight = tl.where(taken, alpha * (1.0 - ratio), 0.0)
            contribution = weight * transmittance
            red += contribution * tl.load(record + 5)
            green += contribution * tl.load(record + 6)
            blue += contribution * tl.load(record + 7)
            transmittance = transmittance * (1.0 - weight)
            depth = tl.where(taken, z, depth)
        b += BATCH
        finished = (count >= layers) | (transmittance < 1e-4)
        if tl.min(finished.to(tl.int32), axis=0) == 1:
            b = end
    if SOLID:  # one layer, colour not premultiplied
        coverage = tl.maximum(1.0 - transmittance, 1e-20)
        red, green, blue = red / coverage, green / coverage, blue / coverage
    inside = (px < width) & (py < height)
    pixel = py.to(tl.int64) * width + px
    if DISPLAY:
        # the display's format: the same four values in fp16 (half the bytes to hand over to the window)
        out = display_ptr + pixel * 4
        tl.store(out + 0, red.to(tl.float16), mask=inside)
        tl.store(out + 1, green.to(tl.float16), mask=inside)
        tl.store(out + 2, blue.to(tl.float16), mask=inside)
        tl.store(out + 3, transmittance.to(tl.float16), mask=inside)
    else:
        tl.store(accum_ptr + pixel * 4 + 0, red, mask=inside)
        tl.store(accum_ptr + pixel * 4 + 1, green, mask=inside)
        tl.store(accum_ptr + pixel * 4 + 2, blue, mask=inside)
        tl.store(accum_ptr + pixel * 4 + 3, transmittance, mask=inside)
    tl.store(depth_ptr + pixel, depth, mask=inside)


def project(xyz, rgb, radius, alpha, params, width, height, tile, tight=TIGHT, block=256):
    """Step 1: per point the packed record, camera z (inf where culled), tile rectangle and tile count.
    ``params``: the frame's camera and settings (kernels/params.py) on xyz's device."""
    device, n = xyz.device, xyz.shape[0]
    record = torch.empty(n, RECORD, dtype=torch.float32, device=device)
    z = torch.empty(n, dtype=torch.float32, device=device)
    rect = torch.empty(n, 4, dtype=torch.int32, device=device)
    counts = torch.empty(n, dtype=torch.int32, device=device)
    if n:
        _project_kernel[(triton.cdiv(n, block),)](
            xyz.contiguous(), radius.contiguous(), alpha.contiguous(), rgb.float().contiguous(), n, params,
            float(width), float(height), record, z, rect, counts, TILE=tile, TIGHT=tight, BLOCK=block)
    return record, z, rect, counts


def depth_order(z, counts):
    """Step 2: points front to back (stable), and where each one's pairs end (the last entry is the number of
    pairs). No host sync: a caller that needs the number reads ``ends[-1]``."""
    if z.numel() == 0:
        empty = torch.zeros(0, dtype=torch.int64, device=z.device)
        return empty.int(), empty
    _, order = torch.sort(z, stable=True)
    return order.int(), torch.cumsum(counts[order], 0, dtype=torch.int64)


def pair_count(ends) -> int:
    """The number of (tile, point) pairs (a host sync: waits for the steps so far)."""
    return int(ends[-1]) if ends.numel() else 0


def bin_pairs(order, rect, counts, ends, record, capacity, tiles_x, n_tiles, tile, padded=False, tight=TIGHT,
              block=256):
    """Step 3: (tile, point) pairs, stably sorted by tile, and every tile's first pair (plus the end).
    ``capacity``: the length of the pair buffers; ``padded`` when it may differ from the number of pairs (a
    recorded launch sequence sized before the count is known): unused entries get the tile key ``n_tiles``,
    past every real tile, so the sort leaves them at the end and no tile's range includes them; pairs past
    the capacity are dropped (the image is then wrong: the caller compares the count and draws again)."""
    device, n = counts.device, counts.shape[0]
    if padded or tight:  # with ``tight``, a pair project counted but emit did not write stays a sentinel
        tiles = torch.full((capacity,), n_tiles, dtype=torch.int32, device=device)
    else:
        tiles = torch.empty(capacity, dtype=torch.int32, device=device)
    ids = torch.empty(capacity, dtype=torch.int32, device=device)
    if capacity and n:
        _emit_kernel[(triton.cdiv(n, block),)](order, rect, counts, ends, record, n, tiles_x, tiles, ids, capacity,
                                               TILE=tile, TIGHT=tight, BLOCK=block)
        tiles, permutation = torch.sort(tiles, stable=True)
        ids = ids[permutation]
    starts = torch.searchsorted(tiles, torch.arange(n_tiles + 1, device=device, dtype=torch.int32))
    return ids, starts


def composite(ids, starts, record, width, height, tiles_x, layers, solid, tile, batch=None,
              display: torch.Tensor | None = None, warps: int | None = None):
    """Step 4: every tile's pixels composited front to back (see _composite_kernel). Returns (accum, depth);
    with ``display`` ((H,W,4) fp16, rows top first, e.g. a buffer the window draws from) the kernel writes
    accum's values there in fp16 instead, and returns it as accum. ``batch``, ``warps``: None for BATCH and
    WARPS."""
    device = record.device
    depth = torch.empty(height, width, dtype=torch.float32, device=device)
    accum = display if display is not None else torch.empty(height, width, 4, dtype=torch.float32, device=device)
    _composite_kernel[(starts.numel() - 1,)](
        ids, starts, record, accum, depth, accum, width, height, tiles_x, layers,
        SOLID=bool(solid), DISPLAY=display is not None, TILE=tile, BATCH=batch or BATCH.get(tile, 16),
        num_warps=warps or WARPS.get(tile, max(1, tile * tile // 64)))
    return accum, depth


def rasterize(xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor,
              params: torch.Tensor, width: int, height: int, layers: int, solid: bool, tile: int = 8,
              batch: int | None = None, display: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(accum (H,W,4), depth (H,W)) on xyz's device; see the module docstring and ``composite``."""
    tiles_x, tiles_y = triton.cdiv(width, tile), triton.cdiv(height, tile)
    record, z, rect, counts = project(xyz, rgb, radius, alpha, params, width, height, tile)
    order, ends = depth_order(z, counts)
    ids, starts = bin_pairs(order, rect, counts, ends, record, pair_count(ends), tiles_x, tiles_x * tiles_y, tile)
    return composite(ids, starts, record, width, height, tiles_x, layers, solid, tile, batch, display)


def profile_stages(xyz, rgb, radius, alpha, params, width, height, layers, solid, timed, tile: int = 8,
                   batch: int | None = None, tight: bool = TIGHT, warps: int | None = None) -> dict:
    """Milliseconds of each step and of all of them, each timed alone by ``timed(fn)`` (a development tool:
    profile_raster.py compares the options)."""
    tiles_x, tiles_y = triton.cdiv(width, tile), triton.cdiv(height, tile)
    n_tiles = tiles_x * tiles_y

    def whole():
        record, z, rect, counts = project(xyz, rgb, radius, alpha, params, width, height, tile, tight)
        order, ends = depth_order(z, counts)
        ids, starts = bin_pairs(order, rect, counts, ends, record, pair_count(ends), tiles_x, n_tiles, tile,
                                tight=tight)
        return composite(ids, starts, record, width, height, tiles_x, layers, solid, tile, batch, warps=warps)

    record, z, rect, counts = project(xyz, rgb, radius, alpha, params, width, height, tile, tight)
    order, ends = depth_order(z, counts)
    total = pair_count(ends)
    ids, starts = bin_pairs(order, rect, counts, ends, record, total, tiles_x, n_tiles, tile, tight=tight)
    return {
        "pairs": total, "tiles": n_tiles, "occupied_tiles": int((starts[1:] > starts[:-1]).sum()),
        "rasterize": timed(whole),
        "project": timed(lambda: project(xyz, rgb, radius, alpha, params, width, height, tile, tight)),
        "depth_order": timed(lambda: depth_order(z, counts)),
        "bin_pairs": timed(lambda: bin_pairs(order, rect, counts, ends, record, total, tiles_x, n_tiles, tile,
                                             tight=tight)),
        "composite": timed(lambda: composite(ids, starts, record, width, height, tiles_x, layers, solid, tile,
                                             batch, warps=warps)),
    }
