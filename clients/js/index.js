/**
 * sceneforge browser runtime: load compiled scenes, cull by portals, walk with collisions.
 * `three` and `three-mesh-bvh` are peer dependencies.
 */
export { PortalScene, polygonPlane } from './core/PortalScene.js';
export { PortalCuller } from './core/PortalCuller.js';
export { SceneLoader, visibilityFromExtras } from './core/SceneLoader.js';
export { StreamingScene } from './core/StreamingScene.js';
export { CellCollision } from './core/CellCollision.js';
export { decodeCell, parseIndex } from './core/StreamIndex.js';
export { readRanges, TruncatedRangeError } from './core/ByteRanges.js';
export { Collision, mergeWorldGeometry } from './core/Collision.js';
export { CapsuleWalker } from './core/CapsuleWalker.js';
