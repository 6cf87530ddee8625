// Writes docs/policy.md from the zod schema, and docs/notification-v1.schema.json from the
// notification body's. Run: node scripts/gen-docs.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { webhookJsonSchema } from '../src/notify/schema.ts';
import { policyReferenceMarkdown } from '../src/policy/reference.ts';

const target = join(import.meta.dirname, '../docs/policy.md');
writeFileSync(target, policyReferenceMarkdown());
console.log(`wrote ${target}`);
const schema = join(import.meta.dirname, '../docs/notification-v1.schema.json');
writeFileSync(schema, webhookJsonSchema());
console.log(`wrote ${schema}`);
