#version 330
// The image as GL textures (the gl backend's output, uploads, CUDA-GL interop copies).
uniform sampler2D accum;
uniform sampler2D depth;
uniform bool flip_y;          // images uploaded top row first

vec2 image_uv(vec2 uv) { return flip_y ? vec2(uv.x, 1.0 - uv.y) : uv; }
vec4 image_accum(vec2 uv) { return texture(accum, image_uv(uv)); }
float image_depth(vec2 uv) { return texture(depth, image_uv(uv)).r; }
