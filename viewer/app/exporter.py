"""Exporting the viewer's path to a video or PNG sequence on a background thread, with progress and cancel.

The export renders with its own backend (cuda where it works, else the torch reference): GL contexts belong
to the UI thread, and the window must stay responsive. It uses the same render loop and writers as
``k4d-viewer render --path``, so the file equals what the command line makes from the saved path.
"""

from __future__ import annotations

import threading
from pathlib import Path

import torch

from ..colour import ColourSettings
from ..commands.render_output import make_sink, render_samples
from ..errors import InputError
from ..model import Model
from ..paths.path import CameraPath
from ..render import RasterSettings, get_backend
from ..render.pipeline import render_frame
from .path_editor import ExportJob


class ExportCancelled(KeyboardInterrupt):
    """Raised inside the export when the user presses Cancel: handled like Ctrl+C (no partial video)."""


def start_export(model: Model, path: CameraPath, output: Path, colour: ColourSettings, raster: RasterSettings,
                 mode: str = "color", codec: str | None = None) -> ExportJob:
    samples = path.sample()
    last = model.info.n_frames - 1
    for index, sample in enumerate(samples):
        if not 0 <= sample.frame <= last:
            raise InputError(output, f"output frame {index} shows model frame {sample.frame}, but the model has "
                             f"frames 0..{last}")
    width, height = path.output_size
    sink = make_sink(output, list(range(len(samples))), (width, height), path.fps, codec, None, False, False)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rasterizer = get_backend("cuda" if device.type == "cuda" else "torch")
    job = ExportJob(output=output, total=len(samples))

    def render(frame, sample):
        if job.cancel.is_set():
            raise ExportCancelled
        result = render_frame(frame, model.info.colour, sample.camera, rasterizer, colour, raster)
        job.done += 1
        return result

    def run() -> None:
        try:
            render_samples(samples, model, device, render, sink, mode, False)
        except ExportCancelled:
            job.error = "cancelled"
        except InputError as exc:
            job.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - shown in the UI instead of killing the window
            job.error = f"{type(exc).__name__}: {exc}"
        finally:
            job.finished = True

    job.thread = threading.Thread(target=run, name="k4d-export", daemon=True)
    job.thread.start()
    return job
