# Source on a GPU machine that has no internet: installs the wheels carried in .whl/ and the GL loader
# packages carried in .gl/ (see docs/development-gpu.md), and makes the repository importable as k4d_viewer.
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
rm -rf /tmp/pkg && mkdir -p /tmp/pkg/k4d_viewer && cp -rs "$PWD"/viewer/. /tmp/pkg/k4d_viewer/
ln -sfn "$PWD"/kernels /tmp/pkg/k4d_viewer/kernels && ln -sfn "$PWD"/assets /tmp/pkg/k4d_viewer/assets
export PYTHONPATH=/tmp/pkg:/tmp/site PYTHONUNBUFFERED=1
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
