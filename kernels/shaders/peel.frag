#version 330
// One depth-peeling pass: keep, per pixel, the nearest fragment strictly behind the previous layer.
// "Behind" compares exact fp32 camera z with the previous layer's (a 24-bit depth buffer would round the
// previous depth and let a layer be peeled twice); the depth test then picks the nearest remaining fragment.
uniform sampler2D previous_z;
uniform bool first_pass;
uniform bool solid;

in vec3 v_rgb;
flat in float v_alpha;
flat in float v_z;
flat in vec3 v_disc;

layout(location = 0) out vec4 layer_rgba;   // colour, alpha weight
layout(location = 1) out float layer_z;     // camera z of this layer (1e30 = none)

void main() {
    vec2 d = gl_FragCoord.xy - v_disc.xy;          // pixel centre minus disc centre, window pixels
    float ratio = dot(d, d) / (v_disc.z * v_disc.z);  // (d / R)^2
    if (ratio >= 1.0) discard;
    if (!first_pass && v_z <= texelFetch(previous_z, ivec2(gl_FragCoord.xy), 0).r) discard;
    float weight = solid ? v_alpha : v_alpha * (1.0 - ratio);
    layer_rgba = vec4(v_rgb, weight);
    layer_z = v_z;
}
