#!/usr/bin/env bash
# Everything the performance issue measures, on the GPU machine, in two parts that each fit one device call
# (10 minutes) and write their results under $OUT (files elsewhere on the device do not come back):
#
#   bash benchmarks/gpu_suite.sh 1   # GPU tests, bench_render (all cases), profile_raster      (~6 min)
#   bash benchmarks/gpu_suite.sh 2   # viewer loop at 4K and 1080p windows, UI cost, disk rows  (~6 min)
#
# Copy $OUT/*.json into benchmarks/results/ afterwards (h200.json, h200_profile_raster.json, ...).
set -u
part=${1:?part 1 or 2}
out=${OUT:?set OUT to the folder whose files come back}
source benchmarks/gpu_env.sh
slug=$(python3 -c "import sys; sys.path.insert(0, 'benchmarks'); import torch; from scene import device_slug; print(device_slug(torch.cuda.get_device_name()))")
if [ "$part" = 1 ]; then
  python3 -m pytest -q tests/test_cuda_gpu.py tests/test_cuda_graphs.py tests/test_cuda_kernels.py \
    tests/test_display.py tests/test_frame_cache.py 2>&1 | tail -15
  python3 benchmarks/bench_render.py --output "$out/$slug.json" 2>&1 | tail -24
  python3 benchmarks/profile_raster.py --json "$out/${slug}_profile_raster.json" 2>&1 | grep -v "^interop" | tail -50
else
  python3 benchmarks/bench_viewer_loop.py --output "$out/${slug}_viewer_loop_3840x2160.json" 2>&1 | tail -6
  python3 benchmarks/bench_viewer_loop.py --window 1920x1080 --output "$out/${slug}_viewer_loop_1920x1080.json" \
    2>&1 | tail -6
  python3 benchmarks/bench_ui.py --frames 100 --output "$out/${slug}_ui.json" 2>&1 | tail -3
  python3 benchmarks/bench_timeline.py --disk-only --frames 100 --output "$out/${slug}_timeline_disk.json" 2>&1 \
    | tail -6
fi
