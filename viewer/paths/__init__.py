"""Camera paths: keyframes and interpolation, the viewer's path files, nerfstudio and EasyVolcap interchange,
and presets for paper videos."""

from .path import CameraPath, Keyframe, PathSample, rescale

__all__ = ["CameraPath", "Keyframe", "PathSample", "rescale"]
