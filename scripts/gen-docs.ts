// Writes docs/policy.md from the zod schema. Run: node scripts/gen-docs.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { policyReferenceMarkdown } from '../src/policy/reference.ts';

const target = join(import.meta.dirname, '../docs/policy.md');
writeFileSync(target, policyReferenceMarkdown());
console.log(`wrote ${target}`);
