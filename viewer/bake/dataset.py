"""A capture dataset as the bake reads it (spec §4): cameras from intri.yml/extri.yml (sorted by name as
strings, optionally 'aligned'), and per (view, frame) the image and mask, undistorted, scaled by the preset's
ratio, cropped to the mask box and filled, with the matching intrinsics. Images come from
``images[_calib]/<cam>/<frame:06d>.jpg|png`` or from ``videos_libx265/<cam>.mp4`` (decoded with PyAV)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..rig import read_rig_files
from .presets import Preset

IMAGE_EXTS = (".jpg", ".png", ".jpeg")


@dataclass(frozen=True)
class SourceCamera:
    name: str
    K: np.ndarray   # 3x3
    R: np.ndarray   # world to camera
    T: np.ndarray   # (3,)
    D: np.ndarray   # (5,) OpenCV distortion

    @property
    def centre(self) -> np.ndarray:
        return -self.R.T @ self.T


def read_cameras(folder: Path) -> list[SourceCamera]:
    """The cameras of ``folder``/intri.yml + extri.yml, sorted by name as strings (spec §4.1), fp32 values."""
    rig = read_rig_files(folder)
    f32 = lambda a: np.asarray(a, np.float32).astype(np.float64)  # noqa: E731 - upstream reads fp32
    return [SourceCamera(name, f32(K), f32(R), f32(T), f32(rig.distortion(name)))
            for name, K, R, T in sorted(rig.entries(), key=lambda entry: entry[0])]


def align(cameras: list[SourceCamera]) -> list[SourceCamera]:
    """4K4D's 'aligned cameras' (spec §4.2): every camera expressed in the frame of the weighted centre of
    attention of all optical axes, with z opposite the mean down (y) axis."""
    c2w = [np.linalg.inv(np.vstack([np.c_[c.R, c.T], [0, 0, 0, 1]])) for c in cameras]
    centres = np.array([m[:3, 3] for m in c2w])
    z_axes = np.array([m[:3, 2] / (np.linalg.norm(m[:3, 2]) + 1e-13) for m in c2w])
    total, weight_sum = np.zeros(3), 0.0
    for a in range(len(cameras)):
        for b in range(len(cameras)):
            da, db = z_axes[a], z_axes[b]
            w = float(np.linalg.norm(np.cross(da, db)) ** 2)
            if w <= 0.01:
                continue
            # closest points of the two axes: centre + s·d
            pa, pb = centres[a], centres[b]
            matrix = np.array([[da @ da, -da @ db], [da @ db, -db @ db]])
            s, t = np.linalg.solve(matrix, np.array([(pb - pa) @ da, (pb - pa) @ db]))
            total += w * ((pa + s * da) + (pb + t * db)) / 2
            weight_sum += w
    centre = total / weight_sum if weight_sum > 0 else centres.mean(0)
    normalize = lambda v: v / (np.linalg.norm(v) + 1e-13)  # noqa: E731
    z = -normalize(np.mean([m[:3, 1] for m in c2w], axis=0))
    y_ = np.mean([m[:3, 2] for m in c2w], axis=0)
    if np.linalg.norm(np.cross(z, y_)) < 1e-6:
        raise InputError("--aligned", "the cameras' mean viewing direction is parallel to their mean down axis "
                         "(a closed ring?): the alignment is undefined; bake with --no-aligned")
    x = -normalize(np.cross(z, y_))
    y = -np.cross(x, z)
    average = np.eye(4)
    average[:3, :3], average[:3, 3] = np.stack([x, y, z], 1), centre
    out = []
    for camera, m in zip(cameras, c2w):
        w2c = np.linalg.inv(np.linalg.inv(average) @ m)
        out.append(SourceCamera(camera.name, camera.K, w2c[:3, :3], w2c[:3, 3], camera.D))
    return out


class Dataset:
    """Images, masks and cameras of one capture, as the bake reads them for one preset."""

    def __init__(self, root: Path, preset: Preset, notes: list[str]) -> None:
        self.root, self.preset = Path(root), preset
        self._readers: dict[Path, VideoReader] = {}
        if not self.root.is_dir():
            raise InputError(self.root, "is not a folder (the dataset root: images/, masks/, intri.yml, extri.yml)")
        folder = self.root / "optimized" if preset.cameras == "optimized" else self.root
        if preset.cameras == "optimized" and not (folder / "intri.yml").is_file():
            notes.append(f"{folder} has no intri.yml: using the cameras at the dataset root")
            folder = self.root
        cameras = read_cameras(folder)
        self.cameras = align(cameras) if preset.aligned else cameras
        self.images = next((self.root / d for d in ("images_calib", "images") if (self.root / d).is_dir()), None)
        self.videos = self.root / "videos_libx265" if (self.root / "videos_libx265").is_dir() else None
        if self.images is None and self.videos is None:
            raise InputError(self.root, "has no images/ (or images_calib/) folder and no videos_libx265/ folder")
        masks = self.root / preset.masks
        self.masks = masks if masks.is_dir() else self.root / "masks"
        self.mask_videos = next((self.root / d for d in ("videos_masks_libx265", "masks_libx265")
                                 if (self.root / d).is_dir()), None)
        if len(preset.ratio) > 1 and len(preset.ratio) != len(self.cameras):
            raise InputError(folder / "intri.yml", f"has {len(self.cameras)} cameras; preset {preset.name} "
                             f"gives image ratios for {len(preset.ratio)}")

    def _video_frame(self, path: Path, frame: int) -> np.ndarray:
        if path not in self._readers:
            self._readers[path] = VideoReader(path)
        return self._readers[path].frame(frame)

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()

    @property
    def n_views(self) -> int:
        return len(self.cameras)

    def _file(self, folder: Path, view: int, frame: int) -> Path:
        name = self.cameras[view].name
        for ext in IMAGE_EXTS:
            path = folder / name / f"{frame:06d}{ext}"
            if path.is_file():
                return path
        raise InputError(folder / name / f"{frame:06d}.jpg", "missing (no image for this camera and frame)")

    def raw(self, view: int, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """(image (H, W, 3) uint8 RGB, mask (H, W) uint8) as stored."""
        if self.images is not None:
            image = read_image(self._file(self.images, view, frame), "RGB")
        else:
            image = self._video_frame(self.videos / f"{self.cameras[view].name}.mp4", frame)
        if self.masks.is_dir():
            mask = read_image(self._file(self.masks, view, frame), "L")
        elif self.mask_videos is not None:
            mask = self._video_frame(self.mask_videos / f"{self.cameras[view].name}.mp4", frame)[..., 0]
        elif self.videos is not None:  # masks are (R+G+B > 12) of the video frames (spec §8.3)
            mask = np.where(image.astype(np.int32).sum(-1) > 12, 255, 0).astype(np.uint8)
        else:
            raise InputError(self.masks, "missing (the foreground masks)")
        if mask.shape != image.shape[:2]:
            raise InputError(self._file(self.masks, view, frame) if self.masks.is_dir() else self.root,
                             f"mask is {mask.shape[1]}x{mask.shape[0]}, image {image.shape[1]}x{image.shape[0]}")
        return image, mask

    def view(self, view: int, frame: int, crop: bool = True) -> tuple[np.ndarray, np.ndarray, SourceCamera]:
        """(image uint8, mask uint8, camera) after undistortion, ratio, crop and fill (spec §4.2-§4.3);
        ``crop`` False: the whole image, background included (the background sampler of fg/bg models)."""
        image, mask = self.raw(view, frame)
        camera = self.cameras[view]
        K = camera.K.copy()
        height, width = image.shape[:2]
        if np.any(camera.D != 0):
            cv2 = _opencv()
            D = camera.D.astype(np.float64)
            newK = cv2.getOptimalNewCameraMatrix(K, D, (width, height), 0, (width, height))[0] \
                if self.preset.dist_opt_k else K
            image = cv2.undistort(image, K, D, None, newK)
            mask = cv2.undistort(mask, K, D, None, newK)
            K = np.asarray(newK, np.float64)
        ratio = self.preset.ratio_of(view)
        if ratio != 1.0:
            cv2 = _opencv()
            w2, h2 = int(width * ratio), int(height * ratio)
            image = cv2.resize(image, (w2, h2), interpolation=cv2.INTER_AREA)
            mask = cv2.resize(mask, (w2, h2), interpolation=cv2.INTER_AREA)
            K[0] *= w2 / width
            K[1] *= h2 / height
        if crop and self.preset.crop:
            rows, cols = np.nonzero(mask > 128)
            if len(rows) == 0:
                image, mask = image[:1, :1] * 0, mask[:1, :1] * 0
            else:
                y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
                image, mask = image[y0:y1, x0:x1], mask[y0:y1, x0:x1]
                K[0, 2] -= x0
                K[1, 2] -= y0
            # image · mask/255 truncated toward zero, as upstream; exact in integers: ⌊a·m / 255⌋
            image = (image.astype(np.uint16) * mask.astype(np.uint16)[..., None] // 255).astype(np.uint8)
        return image, mask, SourceCamera(camera.name, K, camera.R, camera.T, camera.D)


def _opencv():
    try:
        import cv2
    except ImportError:
        raise InputError(None, "this dataset needs OpenCV for undistortion or resizing: pip install "
                         "opencv-python-headless") from None
    return cv2


class VideoReader:
    """Frames of one video in order, decoded in-process with PyAV; going back reopens it. The bake reads frame
    by frame, so each camera's video advances one frame at a time and memory stays one frame."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise InputError(path, "missing (no video for this camera)")
        self.path, self._container, self._frames, self._next = path, None, None, 0

    def frame(self, index: int) -> np.ndarray:
        import av

        try:
            if self._container is None or index < self._next:
                self.close()
                self._container = av.open(str(self.path))
                if not self._container.streams.video:
                    raise InputError(self.path, "holds no video stream")
                self._frames, self._next = self._container.decode(video=0), 0
            for decoded in self._frames:
                self._next += 1
                if self._next - 1 == index:
                    return decoded.to_ndarray(format="rgb24")
        except (av.FFmpegError, ValueError) as exc:  # ValueError: frames PyAV cannot convert to RGB
            raise InputError(self.path, f"cannot be decoded: {exc}") from None
        raise InputError(self.path, f"has {self._next} frames; frame {index} is missing")

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None


def read_image(path: Path, mode: str) -> np.ndarray:
    """An image file as a writable uint8 array in PIL ``mode`` ("RGB" or "L"); InputError naming the file when
    it is not an image, is cut short or is too large to decode safely."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.array(image.convert(mode))
    except Image.UnidentifiedImageError:
        raise InputError(path, "not an image file (unknown format)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        reason = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"not a readable image ({reason})") from None
