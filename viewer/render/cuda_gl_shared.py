"""GPU memory that CUDA writes and OpenGL reads with no per-frame map, unmap or copy (external memory).

CUDA-GL interop (cuda_interop.py) maps a registered GL object before every CUDA access and unmaps it after;
on the H200 each map + unmap pair costs ~0.34 ms of GPU time whatever the size (benchmarks/profile_raster.py),
a third of a 4K frame's budget. Here CUDA allocates the memory itself as exportable (``cuMemCreate`` with a
POSIX file descriptor handle), OpenGL imports it once (``GL_EXT_memory_object_fd``) as a buffer object, and
both keep it: a torch tensor views the CUDA side, a shader reads the GL side as a storage buffer.

Ordering is explicit: ``ready_for_gl`` makes the host wait for CUDA's writes before GL draws, and a GL fence
placed after the draw (``gl_done``) is waited on before CUDA writes the buffer again (``ready_for_cuda``).
Anything missing (no cuda-python, an old driver, a GL context without the extension or without GL 4.3 storage
buffers) raises SharingUnavailable, and the caller falls back to interop copies.
"""

from __future__ import annotations

import ctypes

import torch

from .cuda_interop import _check as cuda_check
from .gl_procs import Fences, GLFunctionUnavailable, gl_functions

GL_HANDLE_TYPE_OPAQUE_FD_EXT = 0x9586
GL_SHADER_STORAGE_BUFFER = 0x90D2


class SharingUnavailable(RuntimeError):
    """CUDA and OpenGL cannot share memory here; the message says why."""


def _driver():
    try:
        from cuda.bindings import driver
    except ImportError:
        try:
            from cuda import cuda as driver  # cuda-python < 12.6
        except ImportError as exc:
            raise SharingUnavailable(f"cuda-python is not installed ({exc})") from None
    return driver


def _check(result, what: str):
    return cuda_check(result, what, SharingUnavailable)


class _GL:
    """The GL entry points for importing memory, which moderngl does not wrap."""

    SIGNATURES = {
        "glCreateMemoryObjectsEXT": (None, [ctypes.c_int, ctypes.POINTER(ctypes.c_uint)]),
        "glImportMemoryFdEXT": (None, [ctypes.c_uint, ctypes.c_uint64, ctypes.c_uint, ctypes.c_int]),
        "glDeleteMemoryObjectsEXT": (None, [ctypes.c_int, ctypes.POINTER(ctypes.c_uint)]),
        "glCreateBuffers": (None, [ctypes.c_int, ctypes.POINTER(ctypes.c_uint)]),
        "glNamedBufferStorageMemEXT": (None, [ctypes.c_uint, ctypes.c_ssize_t, ctypes.c_uint, ctypes.c_uint64]),
        "glDeleteBuffers": (None, [ctypes.c_int, ctypes.POINTER(ctypes.c_uint)]),
        "glBindBufferBase": (None, [ctypes.c_uint, ctypes.c_uint, ctypes.c_uint]),
        "glGetError": (ctypes.c_uint, []),
    }

    def __init__(self, ctx) -> None:
        if "GL_EXT_memory_object_fd" not in ctx.extensions:
            raise SharingUnavailable("the OpenGL context lacks GL_EXT_memory_object_fd")
        if ctx.version_code < 430:
            raise SharingUnavailable(f"OpenGL {ctx.version_code / 100:.1f} has no storage buffers (4.3 needed)")
        try:
            functions = gl_functions(self.SIGNATURES)
            self.fences = Fences()
        except GLFunctionUnavailable as exc:
            raise SharingUnavailable(str(exc)) from None
        for name, function in functions.items():
            setattr(self, name, function)


class _CudaArray:
    """Lets torch view raw device memory (``__cuda_array_interface__``) without copying it."""

    def __init__(self, pointer: int, shape: tuple[int, ...], typestr: str) -> None:
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr, "data": (pointer, False),
                                         "version": 3, "strides": None}


class SharedBuffer:
    """``nbytes`` of device memory that is at once a torch tensor (``tensor(shape, dtype)``) and a GL buffer
    object (``glo``)."""

    def __init__(self, ctx, nbytes: int, gl: _GL | None = None) -> None:
        if not torch.cuda.is_available():
            raise SharingUnavailable("CUDA is not available")
        self.gl = gl or _GL(ctx)
        cu = self.cu = _driver()
        torch.cuda.init()
        device = torch.cuda.current_device()
        handle_type = cu.CUmemAllocationHandleType.CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR
        prop = cu.CUmemAllocationProp()
        prop.type = cu.CUmemAllocationType.CU_MEM_ALLOCATION_TYPE_PINNED
        prop.location.type = cu.CUmemLocationType.CU_MEM_LOCATION_TYPE_DEVICE
        prop.location.id = device
        prop.requestedHandleTypes = handle_type
        granularity = int(_check(cu.cuMemGetAllocationGranularity(
            prop, cu.CUmemAllocationGranularity_flags.CU_MEM_ALLOC_GRANULARITY_RECOMMENDED), "asking the granularity"))
        self.size = -(-max(nbytes, 1) // granularity) * granularity
        self.handle = _check(cu.cuMemCreate(self.size, prop, 0), "allocating shareable CUDA memory")
        self.pointer = self.memory = self.glo = None
        try:
            fd = int(_check(cu.cuMemExportToShareableHandle(self.handle, handle_type, 0), "exporting it"))
            self.pointer = _check(cu.cuMemAddressReserve(self.size, 0, 0, 0), "reserving addresses")
            _check(cu.cuMemMap(self.pointer, self.size, 0, self.handle, 0), "mapping it")
            access = cu.CUmemAccessDesc()
            access.location.type = cu.CUmemLocationType.CU_MEM_LOCATION_TYPE_DEVICE
            access.location.id = device
            access.flags = cu.CUmemAccess_flags.CU_MEM_ACCESS_FLAGS_PROT_READWRITE
            _check(cu.cuMemSetAccess(self.pointer, self.size, [access], 1), "allowing access")
            self.memory = self._import(fd)
        except BaseException:
            self.release()
            raise

    def _import(self, fd: int) -> int:
        gl = self.gl
        memory, buffer = ctypes.c_uint(0), ctypes.c_uint(0)
        gl.glGetError()  # clear earlier errors: the checks below are about these calls
        gl.glCreateMemoryObjectsEXT(1, ctypes.byref(memory))
        gl.glImportMemoryFdEXT(memory.value, self.size, GL_HANDLE_TYPE_OPAQUE_FD_EXT, fd)  # GL now owns the fd
        gl.glCreateBuffers(1, ctypes.byref(buffer))
        gl.glNamedBufferStorageMemEXT(buffer.value, self.size, memory.value, 0)
        error = gl.glGetError()
        self.glo, self.memory = buffer.value, memory.value  # so that release() frees them on failure too
        if error or not memory.value or not buffer.value:
            raise SharingUnavailable(f"OpenGL could not import the CUDA memory (GL error 0x{error:x})")
        return memory.value

    def tensor(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        typestr = {torch.float16: "<f2", torch.float32: "<f4", torch.uint8: "|u1"}[dtype]
        return torch.as_tensor(_CudaArray(int(self.pointer), shape, typestr), device="cuda")

    def release(self) -> None:
        cu, gl = self.cu, self.gl
        if self.glo:
            gl.glDeleteBuffers(1, ctypes.byref(ctypes.c_uint(self.glo)))
        if self.memory:
            gl.glDeleteMemoryObjectsEXT(1, ctypes.byref(ctypes.c_uint(self.memory)))
        if self.pointer is not None:
            cu.cuMemUnmap(self.pointer, self.size)
            cu.cuMemAddressFree(self.pointer, self.size)
        if self.handle is not None:
            cu.cuMemRelease(self.handle)
        self.glo = self.memory = self.pointer = self.handle = None


class SharedImage:
    """A display image in shared memory: accum (H,W,4) fp16 and depth (H,W) fp32, rows top first."""

    kind = "shared CUDA-GL memory"

    def __init__(self, ctx, width: int, height: int) -> None:
        self.ctx, self.size = ctx, (width, height)
        self._fence = None
        self.accum_buffer = SharedBuffer(ctx, width * height * 8)
        try:
            self.depth_buffer = SharedBuffer(ctx, width * height * 4, gl=self.accum_buffer.gl)
        except BaseException:
            self.accum_buffer.release()
            raise
        self.accum = self.accum_buffer.tensor((height, width, 4), torch.float16)
        self.depth = self.depth_buffer.tensor((height, width), torch.float32)

    def ready_for_cuda(self) -> None:
        """Wait until GL has finished reading (the fence of the last draw), before CUDA writes again."""
        if self._fence is not None:
            fence, self._fence = self._fence, None
            if not self.accum_buffer.gl.fences.wait(fence):
                self.ctx.finish()

    def ready_for_gl(self) -> None:
        """Wait until CUDA's writes on the current stream are done, before GL reads."""
        torch.cuda.current_stream().synchronize()

    def bind(self) -> None:
        """Bind as the display shader's storage buffers 0 (accum) and 1 (depth)."""
        gl = self.accum_buffer.gl
        gl.glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, self.accum_buffer.glo)
        gl.glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, self.depth_buffer.glo)

    def gl_done(self) -> None:
        """Mark the end of a draw that read this image (CUDA waits for it before writing again)."""
        fences = self.accum_buffer.gl.fences
        if self._fence is not None:
            fences.delete(self._fence)
        self._fence = fences.place()

    def release(self) -> None:
        if self._fence is not None:
            self.accum_buffer.gl.fences.delete(self._fence)
            self._fence = None
        self.accum, self.depth = None, None
        self.accum_buffer.release()
        self.depth_buffer.release()
