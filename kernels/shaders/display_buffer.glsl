#version 430
// The image as buffers CUDA writes directly (shared memory, rows top first): no copy into a texture.
layout(std430, binding = 0) readonly buffer Accum { uvec2 accum_half[]; };  // 4 x fp16 per pixel
layout(std430, binding = 1) readonly buffer Depth { float depth_data[]; };
uniform ivec2 image_size;

vec4 texel(ivec2 p) {
    p = clamp(p, ivec2(0), image_size - 1);
    uvec2 halves = accum_half[p.y * image_size.x + p.x];
    return vec4(unpackHalf2x16(halves.x), unpackHalf2x16(halves.y));
}

vec4 image_accum(vec2 uv) {   // bilinear, like a LINEAR texture
    vec2 p = vec2(uv.x, 1.0 - uv.y) * vec2(image_size) - 0.5;
    ivec2 i = ivec2(floor(p));
    vec2 f = p - vec2(i);
    return mix(mix(texel(i), texel(i + ivec2(1, 0)), f.x), mix(texel(i + ivec2(0, 1)), texel(i + ivec2(1, 1)), f.x),
               f.y);
}

float image_depth(vec2 uv) {  // nearest: never blend with holes
    ivec2 p = clamp(ivec2(vec2(uv.x, 1.0 - uv.y) * vec2(image_size)), ivec2(0), image_size - 1);
    return depth_data[p.y * image_size.x + p.x];
}
