// Writes deploy/crd.yaml from the zod schema. Run: node scripts/gen-crd.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canaryPolicyCrdYaml } from '../src/policy/crd.ts';

const target = join(import.meta.dirname, '../deploy/crd.yaml');
writeFileSync(target, canaryPolicyCrdYaml());
console.log(`wrote ${target}`);
