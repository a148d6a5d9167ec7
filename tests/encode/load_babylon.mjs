// Loads a GLB (stdin) with Babylon.js (npm `babylonjs` + `babylonjs-loaders`) in a NullEngine and
// prints, as JSON, what a client sees: meshes, triangles (each mesh once, and `drawn`: times its
// thin instances), thin instances, and each node whose metadata.gltf.extras.type is "cell" or
// "portal": its extras, and for a cell the box of the geometry under it, in glTF space.
// Meshopt data is decoded by the npm `meshoptimizer` decoder (Babylon would otherwise fetch one from
// a CDN). With --no-meshopt the EXT_meshopt_compression loader extension is unregistered, as in a
// viewer without meshopt support. A file that does not load exits 1 with the loader's message.
import { createRequire } from 'node:module';
import { MeshoptDecoder } from 'meshoptimizer/decoder';

const require = createRequire(import.meta.url);
const BABYLON = require('babylonjs');
const LOADERS = require('babylonjs-loaders');

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const bytes = new Uint8Array(Buffer.concat(chunks));

BABYLON.Logger.LogLevels = BABYLON.Logger.NoneLogLevel;
if (process.argv.includes('--no-meshopt')) {
  LOADERS.GLTF2.GLTFLoader.UnregisterExtension('EXT_meshopt_compression');
} else {
  await MeshoptDecoder.ready;
  BABYLON.MeshoptCompression._Default = {
    decodeGltfBufferAsync: async (source, count, stride, mode, filter) => {
      const target = new Uint8Array(count * stride);
      MeshoptDecoder.decodeGltfBuffer(target, count, stride, source, mode, filter);
      return target;
    },
    dispose() {},
  };
}

const engine = new BABYLON.NullEngine();
const scene = new BABYLON.Scene(engine);
let result;
try {
  result = await BABYLON.SceneLoader.ImportMeshAsync('', '', bytes, scene, undefined, '.glb');
} catch (error) {
  process.stderr.write(`load failed: ${error && error.message ? error.message : error}\n`);
  process.exit(1);
}

// The loader puts the file under a `__root__` node that turns glTF's right-handed space into
// Babylon's left-handed one; boxes are taken relative to it, so they are in the file's own space.
const root = result.meshes.find((m) => m.name === '__root__');
const toGltf = root.computeWorldMatrix(true).clone().invert();

let triangles = 0;
let drawn = 0;
let thinInstances = 0;
let meshes = 0;
for (const mesh of scene.meshes) {
  const count = mesh.getTotalIndices();
  if (count === 0) continue;
  meshes += 1;
  triangles += count / 3;
  thinInstances += mesh.thinInstanceCount || 0;
  drawn += (count / 3) * Math.max(1, mesh.thinInstanceCount || 0);
}

function box(node) {
  const min = new BABYLON.Vector3(Infinity, Infinity, Infinity);
  const max = min.negate();
  const point = new BABYLON.Vector3();
  // A node with a one-primitive mesh is itself the Babylon mesh; otherwise its meshes are children.
  const self = node instanceof BABYLON.AbstractMesh ? [node] : [];
  const meshesBelow = [...self, ...node.getChildMeshes(false)].filter((m) => m.getTotalVertices() > 0);
  for (const mesh of meshesBelow) {
    const world = mesh.computeWorldMatrix(true).multiply(toGltf);
    const copies = mesh.thinInstanceCount ? mesh.thinInstanceGetWorldMatrices() : [BABYLON.Matrix.Identity()];
    const positions = mesh.getVerticesData(BABYLON.VertexBuffer.PositionKind);
    for (const copy of copies) {
      const matrix = copy.multiply(world);
      for (let i = 0; i < positions.length; i += 3) {
        BABYLON.Vector3.TransformCoordinatesFromFloatsToRef(positions[i], positions[i + 1], positions[i + 2], matrix, point);
        min.minimizeInPlace(point);
        max.maximizeInPlace(point);
      }
    }
  }
  return meshesBelow.length ? [...min.asArray(), ...max.asArray()] : null;
}

const nodes = [];
for (const node of [...scene.transformNodes, ...scene.meshes]) {
  const extras = node.metadata && node.metadata.gltf && node.metadata.gltf.extras;
  if (!extras || (extras.type !== 'cell' && extras.type !== 'portal')) continue;
  nodes.push({ extras, box: extras.type === 'cell' ? box(node) : null });
}
process.stdout.write(JSON.stringify({ meshes, triangles, drawn, thinInstances, nodes }));
engine.dispose();
