// `make manifests`: writes the CRDs generated from the TypeScript schema into the folder given as argument.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdFileName, renderCrdYaml, type PolicyKind } from '../pkg/api/v1/index.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: gen-crds <output-dir>');
  process.exit(2);
}
for (const kind of ['ClusterPolicy', 'Policy'] as const satisfies readonly PolicyKind[]) {
  const file = join(dir, crdFileName(kind));
  writeFileSync(file, renderCrdYaml(kind));
  console.log(`wrote ${file}`);
}
