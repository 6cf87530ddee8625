// Writes the CanaryPolicy CRD from the zod schema into deploy/crd.yaml (kubectl apply -k) and
// deploy/helm/canaryd/files/crd.yaml (the Helm chart reads it; Helm cannot read files outside
// the chart). Run: node scripts/gen-crd.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canaryPolicyCrdYaml } from '../src/policy/crd.ts';

for (const file of ['../deploy/crd.yaml', '../deploy/helm/canaryd/files/crd.yaml']) {
  const target = join(import.meta.dirname, file);
  writeFileSync(target, canaryPolicyCrdYaml());
  console.log(`wrote ${target}`);
}
