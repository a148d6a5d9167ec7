export * from './glsl/common_functions.glsl.js';
export * from './glsl/bvh_distance_functions.glsl.js';
export * from './glsl/bvh_ray_functions.glsl.js';
export * from './glsl/bvh_struct_definitions.glsl.js';
