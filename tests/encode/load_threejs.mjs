// Loads a GLB (stdin) with three.js GLTFLoader + MeshoptDecoder in node and prints, as JSON,
// what a client sees: each node's userData, and the world-space box of each cell's drawn geometry.
// With --no-meshopt the loader gets no meshopt decoder, as in a viewer without meshopt support.
import * as THREE from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { MeshoptDecoder } from 'three/examples/jsm/libs/meshopt_decoder.module.js';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const bytes = Buffer.concat(chunks);
const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);

const loader = new GLTFLoader();
if (!process.argv.includes('--no-meshopt')) loader.setMeshoptDecoder(MeshoptDecoder);
const gltf = await loader.parseAsync(buffer, '');
gltf.scene.updateMatrixWorld(true);

const nodes = [];
gltf.scene.traverse((object) => {
  if (!object.userData || !object.userData.type) return;
  const box = new THREE.Box3();
  let meshes = 0;
  let instances = 0;
  let triangles = 0;
  object.traverse((child) => {
    if (!child.isMesh) return;
    meshes += 1;
    if (child.isInstancedMesh) instances += child.count;
    triangles += child.geometry.index ? child.geometry.index.count / 3 : 0;
    box.expandByObject(child, true);
  });
  nodes.push({
    userData: object.userData,
    meshes,
    instances,
    triangles,
    box: box.isEmpty() ? null : [...box.min.toArray(), ...box.max.toArray()],
  });
});
process.stdout.write(JSON.stringify({ sceneExtras: gltf.scene.userData, nodes }));
