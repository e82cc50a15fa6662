"""OpenGL entry points that moderngl does not wrap (fences, external memory), looked up through the loader of
the context current on this thread: EGL (headless, Wayland) or GLX (X11 windows)."""

from __future__ import annotations

import ctypes

GL_SYNC_GPU_COMMANDS_COMPLETE = 0x9117
GL_SYNC_FLUSH_COMMANDS_BIT = 0x1
GL_TIMEOUT_EXPIRED = 0x911B
GL_WAIT_FAILED = 0x911D


class GLFunctionUnavailable(RuntimeError):
    """The function (or any loader for it) is missing; the message says which."""


def _loader():
    """eglGetProcAddress when an EGL context is current, else glXGetProcAddressARB when a GLX one is."""
    for library, current, get in (("libEGL.so.1", "eglGetCurrentContext", "eglGetProcAddress"),
                                  ("libGL.so.1", "glXGetCurrentContext", "glXGetProcAddressARB")):
        try:
            lib = ctypes.CDLL(library)
        except OSError:
            continue
        getattr(lib, current).restype = ctypes.c_void_p
        if not getattr(lib, current)():
            continue
        function = getattr(lib, get)
        function.restype, function.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
        return function
    raise GLFunctionUnavailable("no current EGL or GLX context to look OpenGL functions up in")


def gl_functions(signatures: dict[str, tuple]) -> dict[str, ctypes._CFuncPtr]:
    """{name: callable} for ``{name: (restype, [argtypes])}``, from the current context's loader."""
    lookup = _loader()
    functions = {}
    for name, (restype, argtypes) in signatures.items():
        address = lookup(name.encode())
        if not address:
            raise GLFunctionUnavailable(f"OpenGL function {name} not found")
        functions[name] = ctypes.CFUNCTYPE(restype, *argtypes)(address)
    return functions


FENCE_SIGNATURES = {
    "glFenceSync": (ctypes.c_void_p, [ctypes.c_uint, ctypes.c_uint]),
    "glClientWaitSync": (ctypes.c_uint, [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint64]),
    "glDeleteSync": (None, [ctypes.c_void_p]),
}


class Fences:
    """GL fences: ``place`` one after the commands issued so far, ``wait`` until the GPU has passed it."""

    def __init__(self) -> None:
        self._gl = gl_functions(FENCE_SIGNATURES)

    def place(self) -> int:
        return self._gl["glFenceSync"](GL_SYNC_GPU_COMMANDS_COMPLETE, 0)

    def wait(self, fence: int, timeout_ns: int = 1_000_000_000) -> bool:
        """True when the GPU passed the fence within the timeout; the fence is deleted either way."""
        status = self._gl["glClientWaitSync"](fence, GL_SYNC_FLUSH_COMMANDS_BIT, timeout_ns)
        self._gl["glDeleteSync"](fence)
        return status not in (GL_TIMEOUT_EXPIRED, GL_WAIT_FAILED)

    def delete(self, fence: int) -> None:
        self._gl["glDeleteSync"](fence)
