// Runs the Khronos glTF-Validator on GLB bytes read from stdin; prints its JSON report on stdout.
// Used by tests/support/gltf_validator.py. Exit status 0 when a report was produced, 1 otherwise.
import validator from 'gltf-validator';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const data = new Uint8Array(Buffer.concat(chunks));

try {
  const report = await validator.validateBytes(data, { format: 'glb', maxIssues: 0, writeTimestamp: false });
  process.stdout.write(JSON.stringify(report));
} catch (error) {
  process.stderr.write(`validate_gltf: ${error && error.message ? error.message : String(error)}\n`);
  process.exit(1);
}
