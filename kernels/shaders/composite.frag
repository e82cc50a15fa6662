#version 330
// Front-to-back compositing of one peeled layer: C += c·α·T, T *= 1 − α; depth = the last layer's z.
uniform sampler2D accum_in;     // rgb = premultiplied colour so far, a = transmittance T
uniform sampler2D depth_in;     // camera z of the last composited layer
uniform sampler2D layer_rgba;
uniform sampler2D layer_z;
uniform bool solid;

layout(location = 0) out vec4 accum_out;
layout(location = 1) out float depth_out;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 acc = texelFetch(accum_in, p, 0);
    float last = texelFetch(depth_in, p, 0).r;
    float z = texelFetch(layer_z, p, 0).r;
    if (z < 1e29) {  // a layer was drawn here (NO_LAYER = 1e30 otherwise)
        vec4 layer = texelFetch(layer_rgba, p, 0);
        acc.rgb = solid ? layer.rgb : acc.rgb + layer.rgb * layer.a * acc.a;
        acc.a *= 1.0 - layer.a;
        last = z;
    }
    accum_out = acc;
    depth_out = last;
}
