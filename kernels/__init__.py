"""GPU kernels (Triton / CUDA) and shaders used by the fast rasterizer backends."""
