#version 330
// Point sprites with 4K4D's rules (reference §4): round discs of pixel diameter 2·f_y·r/z·scale (>= 1 px),
// culled whole when alpha <= threshold or the centre is outside the frustum. Depth is affine in camera z.
uniform mat3 R;
uniform vec3 T;
uniform vec4 intrinsics;      // fx, skew, cx, cy
uniform float fy;
uniform vec2 size;            // W, H
uniform vec2 near_far;
uniform float radius_scale;
uniform float alpha_threshold;

in vec3 in_xyz;
in vec3 in_rgb;
in float in_radius;
in float in_alpha;

out vec3 v_rgb;
flat out float v_alpha;
flat out float v_z;
flat out vec3 v_disc;         // centre (window x, window y) and radius of the disc, in pixels

void main() {
    vec3 cam = R * in_xyz + T;
    float z = cam.z;
    v_rgb = in_rgb;
    v_alpha = in_alpha;
    v_z = z;
    if (in_alpha <= alpha_threshold || z <= 0.0) {
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);  // outside the clip volume: dropped whole
        gl_PointSize = 1.0;
        return;
    }
    float u = (intrinsics.x * cam.x + intrinsics.y * cam.y) / z + intrinsics.z;
    float v = fy * cam.y / z + intrinsics.w;
    if (u < 0.0 || u > size.x || v < 0.0 || v > size.y) {
        // a point whose centre is off screen is clipped whole: explicit, since drivers with guard bands
        // (NVIDIA) would otherwise draw the visible part of its sprite
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
        gl_PointSize = 1.0;
        return;
    }
    vec3 ndc = vec3(2.0 * u / size.x - 1.0, 1.0 - 2.0 * v / size.y,
                    2.0 * (z - near_far.x) / (near_far.y - near_far.x) - 1.0);
    gl_Position = vec4(ndc * z, z);
    // The disc test happens per fragment against the exact centre and radius, so the sprite only has to
    // cover the disc: drivers quantise point sizes and interpolate gl_PointCoord differently.
    float radius_px = max(fy * in_radius / z * radius_scale, 0.5);
    v_disc = vec3(u, size.y - v, radius_px);
    gl_PointSize = ceil(2.0 * radius_px) + 2.0;
}
