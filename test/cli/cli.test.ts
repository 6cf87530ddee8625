import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';

const fixtures = join(import.meta.dirname, '../fixtures/policies');

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    now: () => new Date('2026-03-27T15:00:00Z'),
  });
  return { code, stdout, stderr };
}

describe('kubectl canary', () => {
  it('prints usage and exits 2 for an unknown command', async () => {
    const result = await run('promte');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "promte"');
    expect(result.stderr).toContain('validate');
  });

  it('prints usage and exits 2 without a command', async () => {
    expect((await run()).code).toBe(2);
  });
});

describe('kubectl canary validate', () => {
  it('exits 0 for valid files and directories', async () => {
    const result = await run('validate', join(fixtures, 'valid'));
    expect(result).toMatchObject({ code: 0, stdout: '5 policies valid\n', stderr: '' });
  });

  it('prints every error compiler-style and exits 1', async () => {
    const result = await run(
      'validate',
      join(fixtures, 'invalid/bad-cron.yaml'),
      join(fixtures, 'invalid/misspelt-field.yaml'),
      join(fixtures, 'valid/minimal.yaml'),
    );
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')).toEqual([
      `${fixtures}/invalid/bad-cron.yaml:10:15: spec.schedule.advanceWindows[0].cron: cron "0 25 * * *": hour 25 is out of range 0-23 (five fields: minute hour day-of-month month day-of-week)`,
      `${fixtures}/invalid/misspelt-field.yaml:9:5: spec.strategy.stepWieghts: unknown field \`stepWieghts\`, did you mean \`steps\`? (allowed fields: type, steps, allowLargeFirstStep, blueGreen)`,
      '2 errors; 1 policy valid',
      '',
    ]);
  });

  it("reports the analysis module's template errors with file, line, column and field", async () => {
    const result = await run('validate', join(fixtures, 'invalid/template-raw-string-and-comment.yaml'));
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')).toEqual([
      `${fixtures}/invalid/template-raw-string-and-comment.yaml:13:22: spec.analysis.checks[0].stableQuery: {{deployment}} cannot be escaped inside a \`raw string\`; use double quotes`,
      `${fixtures}/invalid/template-raw-string-and-comment.yaml:15:22: spec.analysis.checks[0].sampleQuery: {{canary}} inside a # comment is not allowed`,
      '2 errors; 0 policies valid',
      '',
    ]);
  });

  it('reports a missing file as an error', async () => {
    const result = await run('validate', join(fixtures, 'does-not-exist.yaml'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does-not-exist.yaml: cannot read');
  });

  it('exits 2 without files', async () => {
    expect((await run('validate')).code).toBe(2);
  });
});

describe('kubectl canary plan', () => {
  it('prints each step with its earliest start and advance, across a weekend and a DST change', async () => {
    const result = await run('plan', join(fixtures, 'valid/ingress-nginx-full.yaml'), '--from', '2026-03-27T15:00:00Z');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[3]).toBe('Release starts:  2026-03-30T07:00:00Z (Mon 2026-03-30 09:00 GMT+2)');
    expect(lines.slice(5, 10).map((line) => line.replace(/\s+/g, ' '))).toEqual([
      'STEP WEIGHT HOLD STARTS EARLIEST ADVANCE',
      '1 0.1% 10m 2026-03-30T07:00:00Z (Mon 2026-03-30 09:00 GMT+2) 2026-03-30T07:10:00Z (Mon 2026-03-30 09:10 GMT+2)',
      '2 1% 5m 2026-03-30T07:10:00Z (Mon 2026-03-30 09:10 GMT+2) 2026-03-30T07:15:00Z (Mon 2026-03-30 09:15 GMT+2)',
      '3 5% 5m 2026-03-30T07:15:00Z (Mon 2026-03-30 09:15 GMT+2) 2026-03-30T07:20:00Z (Mon 2026-03-30 09:20 GMT+2) after resume',
      '4 50% 1h 2026-03-30T07:20:00Z (Mon 2026-03-30 09:20 GMT+2) 2026-03-30T08:20:00Z (Mon 2026-03-30 10:20 GMT+2)',
    ]);
    expect(result.stdout).toContain('Promotion begins: 2026-03-30T08:20:00Z');
  });

  it('starts now by default and plans every policy of a file', async () => {
    const result = await run('plan', join(fixtures, 'valid/several-documents.yaml'));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Release starts:  2026-03-27T15:00:00Z');
    expect(result.stdout).toContain('1 preview (testers only)');
    expect(result.stdout).toContain('Promotion begins: 2026-03-27T15:20:00Z'); // api: 4 steps of 5m
    expect(result.stdout).toContain('Promotion begins: 2026-03-27T15:40:00Z'); // worker: preview 10m, switch-back 30m
  });

  it('refuses an invalid policy with its errors', async () => {
    const result = await run('plan', join(fixtures, 'invalid/large-first-step.yaml'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('spec.strategy.steps[0].weight: the first step sends 10 %');
  });

  it('exits 2 for a bad --from', async () => {
    const result = await run('plan', join(fixtures, 'valid/minimal.yaml'), '--from', 'tomorrow');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--from: expected a time');
  });

  it('exits 2 for an unknown option', async () => {
    expect((await run('plan', join(fixtures, 'valid/minimal.yaml'), '--form', 'x')).code).toBe(2);
  });
});
