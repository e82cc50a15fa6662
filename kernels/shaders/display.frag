// Shows a rendered image in the window: colour over the background, accumulated alpha, or colour-mapped depth.
// Prefixed by display_texture.glsl or display_buffer.glsl, which define where the image comes from:
//   vec4 image_accum(vec2 uv)   rgb premultiplied (no background), a = transmittance; filtered
//   float image_depth(vec2 uv)  camera z of the last layer; 0 or >= 1e29 where empty; nearest pixel
uniform int mode;             // 0 colour, 1 alpha, 2 depth
uniform vec3 background;
uniform vec2 depth_range;     // near and far ends of the colour map

in vec2 v_uv;
out vec4 colour;

vec3 ramp(float t) {          // bright yellow (near) -> red -> purple -> black (far), as image.depth_colormap
    vec3 stops[5] = vec3[5](vec3(0.99, 0.99, 0.75), vec3(0.98, 0.55, 0.24), vec3(0.72, 0.21, 0.47),
                            vec3(0.23, 0.06, 0.44), vec3(0.0, 0.0, 0.02));
    float p = clamp(t, 0.0, 1.0) * 4.0;
    int i = min(int(floor(p)), 3);
    return mix(stops[i], stops[i + 1], p - float(i));
}

void main() {
    vec4 acc = image_accum(v_uv);
    if (mode == 0) {
        colour = vec4(acc.rgb + background * acc.a, 1.0);
    } else if (mode == 1) {
        colour = vec4(vec3(1.0 - acc.a), 1.0);
    } else {
        float z = image_depth(v_uv);
        bool empty = z <= 0.0 || z >= 1e29 || acc.a >= 1.0;
        float t = (z - depth_range.x) / max(depth_range.y - depth_range.x, 1e-6);
        colour = vec4(empty ? vec3(0.0) : ramp(t), 1.0);
    }
}
