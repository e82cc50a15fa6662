"""CUDA → OpenGL texture copies with no host round trip (CUDA-GL interop through cuda-python).

``GLTextureSink`` registers a GL texture with CUDA once, then each ``write`` maps it, copies a CUDA tensor into
its array on the current torch stream, and unmaps it. ``HostTextureSink`` is the visible fallback when
registration is impossible (WSL, a display GPU that is not the CUDA GPU, ...): it copies through host memory.
"""

from __future__ import annotations

import torch

GL_TEXTURE_2D = 0x0DE1


class InteropUnavailable(RuntimeError):
    """CUDA-GL interop cannot be used here; the message says why."""


def _runtime():
    try:
        from cuda.bindings import runtime
    except ImportError:
        try:
            from cuda import cudart as runtime  # cuda-python < 12.6
        except ImportError as exc:
            raise InteropUnavailable(f"cuda-python is not installed ({exc})") from None
    return runtime


def _check(result, what: str, error: type[RuntimeError] = InteropUnavailable):
    """The values of a cuda-python call's (error, *values) result; ``error`` raised, naming ``what``, on failure."""
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise error(f"{what} failed ({getattr(err, 'name', err)})")
    return rest[0] if len(rest) == 1 else rest


class GLTextureSink:
    """A GL texture that CUDA tensors are copied into directly (device to device)."""

    kind = "CUDA-GL interop"

    def __init__(self, texture) -> None:
        self.rt = _runtime()
        self.texture = texture
        flags = self.rt.cudaGraphicsRegisterFlags.cudaGraphicsRegisterFlagsWriteDiscard
        self.resource = _check(self.rt.cudaGraphicsGLRegisterImage(texture.glo, GL_TEXTURE_2D, flags),
                               "registering the GL texture with CUDA")

    def write(self, tensor: torch.Tensor) -> None:
        """Copy a contiguous CUDA tensor (H, W, C) with the texture's size and element layout."""
        rt = self.rt
        stream = torch.cuda.current_stream().cuda_stream
        height, width = tensor.shape[:2]
        row_bytes = tensor.stride(0) * tensor.element_size()
        _check(rt.cudaGraphicsMapResources(1, self.resource, stream), "mapping the GL texture")
        try:
            array = _check(rt.cudaGraphicsSubResourceGetMappedArray(self.resource, 0, 0), "getting its array")
            _check(rt.cudaMemcpy2DToArrayAsync(array, 0, 0, tensor.data_ptr(), row_bytes, row_bytes, height,
                                               rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream),
                   "copying into the GL texture")
        finally:
            _check(rt.cudaGraphicsUnmapResources(1, self.resource, stream), "unmapping the GL texture")

    def release(self) -> None:
        self.rt.cudaGraphicsUnregisterResource(self.resource)


class GLBufferSink:
    """A GL buffer (vertex data, pixels) that CUDA tensors are copied into directly, or written in place by a
    kernel through ``map``."""

    kind = "CUDA-GL interop"

    def __init__(self, buffer) -> None:
        self.rt = _runtime()
        self.buffer = buffer
        flags = self.rt.cudaGraphicsRegisterFlags.cudaGraphicsRegisterFlagsWriteDiscard
        self.resource = _check(self.rt.cudaGraphicsGLRegisterBuffer(buffer.glo, flags),
                               "registering the GL buffer with CUDA")

    def map(self) -> int:
        """Map for CUDA on the current stream; returns the device pointer (valid until ``unmap``)."""
        stream = torch.cuda.current_stream().cuda_stream
        _check(self.rt.cudaGraphicsMapResources(1, self.resource, stream), "mapping the GL buffer")
        pointer, _size = _check(self.rt.cudaGraphicsResourceGetMappedPointer(self.resource), "getting its pointer")
        return int(pointer)

    def unmap(self) -> None:
        stream = torch.cuda.current_stream().cuda_stream
        _check(self.rt.cudaGraphicsUnmapResources(1, self.resource, stream), "unmapping the GL buffer")

    def write(self, tensor: torch.Tensor) -> None:
        """Copy a contiguous CUDA tensor into the start of the buffer."""
        pointer = self.map()
        try:
            _check(self.rt.cudaMemcpyAsync(pointer, tensor.data_ptr(), tensor.numel() * tensor.element_size(),
                                           self.rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice,
                                           torch.cuda.current_stream().cuda_stream), "copying into the GL buffer")
        finally:
            self.unmap()

    def release(self) -> None:
        self.rt.cudaGraphicsUnregisterResource(self.resource)


class HostTextureSink:
    """Fallback: copy through host memory (slower, always works)."""

    kind = "host copy"

    def __init__(self, texture) -> None:
        self.texture = texture

    def write(self, tensor: torch.Tensor) -> None:
        self.texture.write(tensor.contiguous().cpu().numpy().tobytes())

    def release(self) -> None:
        pass


def texture_sink(texture) -> tuple[GLTextureSink | HostTextureSink, str | None]:
    """Interop where possible; otherwise the host fallback and the reason it was needed."""
    if not torch.cuda.is_available():
        return HostTextureSink(texture), "CUDA is not available"
    try:
        return GLTextureSink(texture), None
    except InteropUnavailable as exc:
        return HostTextureSink(texture), str(exc)
