// The admission policy and the controller must agree on what an approve looks like: the policy
// checks the approve right only for text it matches, and the controller opens a gate only for
// an approve written that way (src/controller/actor.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { approvalWrittenPlainly } from '../../src/controller/actor.ts';
import { APPROVE_PATTERN_SOURCE } from '../../src/controller/names.ts';

const root = join(import.meta.dirname, '..', '..');

describe('the approve pattern', () => {
  it('deploy/operation-actor-policy.yaml matches approve operations with the same expression as the controller', () => {
    const [policy] = parseAllDocuments(readFileSync(join(root, 'deploy/operation-actor-policy.yaml'), 'utf8')).map(
      (doc) => doc.toJS() as { spec: { variables: Array<{ name: string; expression: string }> } },
    );
    const approving = policy!.spec.variables.find((v) => v.name === 'approving')!.expression;
    // The CEL string literal, unescaped, is the RE2 expression.
    const literal = /matches\('(.*)'\)/.exec(approving)![1]!.replaceAll('\\\\', '\\');
    expect(literal).toBe(APPROVE_PATTERN_SOURCE);
  });

  it.each([
    ['{"id":"a","op":"approve","at":"t"}', true],
    ['{"id":"a", "op" : "approve"}', true],
    ['{"id":"a","op":"\\u0061pprove"}', false],
  ])('an approve written as %s is taken as checked: %s', (raw, plain) => {
    expect(approvalWrittenPlainly({ op: 'approve' }, raw)).toBe(plain);
  });

  it('other operations need no pattern', () => {
    expect(approvalWrittenPlainly({ op: 'pause' }, '{"op":"pause"}')).toBe(true);
  });
});
