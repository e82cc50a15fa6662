"""Tile-based compute rasterizer (reference §4) in Triton: project → bin → sort → composite per tile.

1. ``_project_kernel``: per point, camera transform, culling (alpha threshold, near/far, centre off screen),
   pixel radius max(f_y·r/z·scale, 0.5), and the range of TILE×TILE screen tiles its disc may touch.
2. ``_emit_kernel``: one (tile, depth) key per point and touched tile (64-bit: tile << 32 | fp32 bits of z,
   which order like the floats because z > 0), written at the point's prefix-sum offset.
3. ``torch.sort`` of the keys: per tile, points front to back; ``searchsorted`` gives each tile's range.
4. ``_render_kernel``: one program per tile. It walks the tile's points front to back in batches of BATCH;
   for every pixel × point in the batch it tests the disc (pixel centre strictly inside), drops fragments that
   tie in depth with an earlier one, ranks the rest with a running count (cumsum) so only the first K take a
   layer, and composites them with an
   exclusive product of (1 − α) done as a cumsum of logs. A tile stops once every pixel has K layers or a
   transmittance below 1e-4 (a colour change below 1e-4, far under the 2/255 test tolerance).

Exact depth ties follow the depth-peel rule of the reference: of several fragments at exactly the same fp32
camera z in a pixel only the first (in point order) takes a layer. Ties are common with fp16 positions seen by
a camera aligned with a world axis. Defaults (8×8 tiles, batches of 16, 2 warps) are the fastest measured on an H100
by benchmarks/profile_raster.py. Outputs: accum (H,W,4) fp32 = premultiplied rgb and transmittance, rows top
first; depth (H,W) fp32 = camera z of the last composited layer, 0 where empty.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _project_kernel(xyz_ptr, radius_ptr, alpha_ptr, n,
                    r00, r01, r02, r10, r11, r12, r20, r21, r22, t0, t1, t2,
                    fx, skew, cx, fy, cy, width, height, near, far, radius_scale, alpha_threshold,
                    u_ptr, v_ptr, z_ptr, rpix_ptr, rect_ptr, count_ptr,
                    TILE: tl.constexpr, BLOCK: tl.constexpr):
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
    count = tl.where(valid, (tx1 - tx0 + 1) * (ty1 - ty0 + 1), 0)
    tl.store(u_ptr + i64, u, mask=mask)
    tl.store(v_ptr + i64, v, mask=mask)
    tl.store(z_ptr + i64, cam_z, mask=mask)
    tl.store(rpix_ptr + i64, rpix, mask=mask)
    tl.store(rect_ptr + i64 * 4 + 0, tx0, mask=mask)
    tl.store(rect_ptr + i64 * 4 + 1, ty0, mask=mask)
    tl.store(rect_ptr + i64 * 4 + 2, tx1, mask=mask)
    tl.store(count_ptr + i64, count, mask=mask)


@triton.jit
def _emit_kernel(rect_ptr, count_ptr, offset_ptr, z_ptr, n, tiles_x, keys_ptr, ids_ptr, BLOCK: tl.constexpr):
    i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = i < n
    i64 = i.to(tl.int64)
    count = tl.load(count_ptr + i64, mask=mask, other=0)
    offset = tl.load(offset_ptr + i64, mask=mask, other=0)
    tx0 = tl.load(rect_ptr + i64 * 4 + 0, mask=mask, other=0)
    ty0 = tl.load(rect_ptr + i64 * 4 + 1, mask=mask, other=0)
    tx1 = tl.load(rect_ptr + i64 * 4 + 2, mask=mask, other=0)
    span = tx1 - tx0 + 1
    zbits = tl.load(z_ptr + i64, mask=mask, other=1.0).to(tl.int32, bitcast=True).to(tl.int64)
    most = tl.max(count, axis=0)
    k = 0
    while k < most:
        active = k < count
        tile = (ty0 + k // span) * tiles_x + tx0 + k % span
        key = (tile.to(tl.int64) << 32) | zbits
        tl.store(keys_ptr + offset + k, key, mask=active)
        tl.store(ids_ptr + offset + k, i, mask=active)
        k += 1


@triton.jit
def _segmented_add(start_a, value_a, start_b, value_b):
    """Combine for a segmented cumsum: a run start resets the running sum."""
    return start_a | start_b, tl.where(start_b != 0, value_b, value_a + value_b)


@triton.jit
def _render_kernel(ids_ptr, run_start_ptr, starts_ptr, u_ptr, v_ptr, z_ptr, rpix_ptr, alpha_ptr, rgb_ptr,
                   accum_ptr, depth_ptr, width, height, tiles_x, layers,
                   SOLID: tl.constexpr, TILE: tl.constexpr, BATCH: tl.constexpr):
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
    batch = tl.arange(0, BATCH)
    b = start
    while b < end:
        j = b + batch
        in_range = j < end
        point = tl.load(ids_ptr + j, mask=in_range, other=0).to(tl.int64)
        u = tl.load(u_ptr + point, mask=in_range, other=-1e9)
        v = tl.load(v_ptr + point, mask=in_range, other=-1e9)
        rpix = tl.load(rpix_ptr + point, mask=in_range, other=1.0)
        z = tl.load(z_ptr + point, mask=in_range, other=0.0)
        alpha = tl.load(alpha_ptr + point, mask=in_range, other=0.0).to(tl.float32)
        dx = centre_x[:, None] - u[None, :]
        dy = centre_y[:, None] - v[None, :]
        ratio = (dx * dx + dy * dy) / (rpix * rpix)[None, :]
        covering = (ratio < 1.0) & in_range[None, :]
        # Exact depth ties: a depth peel keeps only the first of several fragments at the same z (entries of
        # equal z are consecutive and in point order). Within this batch, a segmented count over each run of
        # equal z finds later ones; a run that began in an earlier batch shows as z == last_z.
        run_start = tl.load(run_start_ptr + j, mask=in_range, other=1).to(tl.int32)
        _, in_run = tl.associative_scan((tl.broadcast_to(run_start[None, :], (TILE * TILE, BATCH)),
                                         covering.to(tl.int32)), axis=1, combine_fn=_segmented_add)
        tied = (in_run > 1) | (z[None, :] == last_z[:, None])
        covered = covering & ~tied
        last_z = tl.maximum(last_z, tl.max(tl.where(covering, z[None, :], -1.0), axis=1))
        rank = count[:, None] + tl.cumsum(covered.to(tl.int32), axis=1) - 1
        taken = covered & (rank < layers)
        if SOLID:
            weight = tl.where(taken, alpha[None, :] + 0.0 * ratio, 0.0)
        else:
            weight = tl.where(taken, alpha[None, :] * (1.0 - ratio), 0.0)
        log_keep = tl.log(1.0 - tl.minimum(weight, 0.99999))  # α capped so the log stays finite (< 1e-5 effect)
        before = transmittance[:, None] * tl.exp(tl.cumsum(log_keep, axis=1) - log_keep)
        contribution = weight * before
        red += tl.sum(contribution * tl.load(rgb_ptr + point * 3 + 0, mask=in_range, other=0.0)[None, :], axis=1)
        green += tl.sum(contribution * tl.load(rgb_ptr + point * 3 + 1, mask=in_range, other=0.0)[None, :], axis=1)
        blue += tl.sum(contribution * tl.load(rgb_ptr + point * 3 + 2, mask=in_range, other=0.0)[None, :], axis=1)
        transmittance = transmittance * tl.exp(tl.sum(log_keep, axis=1))
        count += tl.sum(covered.to(tl.int32), axis=1)
        depth = tl.maximum(depth, tl.max(tl.where(taken, z[None, :], 0.0), axis=1))
        b += BATCH
        finished = (count >= layers) | (transmittance < 1e-4)
        if tl.min(finished.to(tl.int32), axis=0) == 1:
            b = end
    if SOLID:  # one layer, colour not premultiplied
        coverage = tl.maximum(1.0 - transmittance, 1e-20)
        red, green, blue = red / coverage, green / coverage, blue / coverage
    inside = (px < width) & (py < height)
    pixel = (py.to(tl.int64) * width + px) * 4
    tl.store(accum_ptr + pixel + 0, red, mask=inside)
    tl.store(accum_ptr + pixel + 1, green, mask=inside)
    tl.store(accum_ptr + pixel + 2, blue, mask=inside)
    tl.store(accum_ptr + pixel + 3, transmittance, mask=inside)
    tl.store(depth_ptr + py.to(tl.int64) * width + px, depth, mask=inside)


def rasterize(xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor, K, R, T,
              width: int, height: int, near: float, far: float, layers: int, radius_scale: float,
              alpha_threshold: float, solid: bool, tile: int = 8, batch: int = 16, warps: int = 2,
              block: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(accum (H,W,4), depth (H,W)) on xyz's device; see the module docstring."""
    device = xyz.device
    n = xyz.shape[0]
    tiles_x, tiles_y = triton.cdiv(width, tile), triton.cdiv(height, tile)
    n_tiles = tiles_x * tiles_y
    u = torch.empty(n, dtype=torch.float32, device=device)
    v, z, rpix = torch.empty_like(u), torch.empty_like(u), torch.empty_like(u)
    rect = torch.empty(n, 4, dtype=torch.int32, device=device)
    counts = torch.empty(n, dtype=torch.int32, device=device)
    accum = torch.empty(height, width, 4, dtype=torch.float32, device=device)
    depth = torch.empty(height, width, dtype=torch.float32, device=device)
    xyz, radius, alpha = xyz.contiguous(), radius.contiguous(), alpha.contiguous()
    if n:
        _project_kernel[(triton.cdiv(n, block),)](
            xyz, radius, alpha, n, *(float(r) for r in R.reshape(-1)), *(float(t) for t in T),
            float(K[0, 0]), float(K[0, 1]), float(K[0, 2]), float(K[1, 1]), float(K[1, 2]), float(width),
            float(height), float(near), float(far), float(radius_scale), float(alpha_threshold),
            u, v, z, rpix, rect, counts, TILE=tile, BLOCK=block)
        ends = torch.cumsum(counts, 0, dtype=torch.int64)
        total = int(ends[-1])  # the one host sync: the size of the key buffer
    else:
        ends, total = torch.zeros(0, dtype=torch.int64, device=device), 0
    keys = torch.empty(total, dtype=torch.int64, device=device)
    ids = torch.empty(total, dtype=torch.int32, device=device)
    run_start = torch.ones(total, dtype=torch.int8, device=device)
    if total:
        _emit_kernel[(triton.cdiv(n, block),)](rect, counts, ends - counts, z, n, tiles_x, keys, ids, BLOCK=block)
        keys, order = torch.sort(keys, stable=True)  # stable: equal depths stay in point order
        ids = ids[order]
        run_start[1:] = keys[1:] != keys[:-1]
    starts = torch.searchsorted(keys >> 32, torch.arange(n_tiles + 1, device=device, dtype=torch.int64))
    _render_kernel[(n_tiles,)](ids, run_start, starts, u, v, z, rpix, alpha, rgb.float().contiguous(), accum, depth,
                               width, height, tiles_x, layers, SOLID=bool(solid), TILE=tile, BATCH=batch,
                               num_warps=warps)
    return accum, depth
