import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
    expect(result).toMatchObject({ code: 0, stdout: '6 policies valid\n', stderr: '' });
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
    // testersFirst: 15m is the engine's first step (testers only, weight 0): the plan shows it.
    expect(lines.slice(5, 11).map((line) => line.replace(/\s+/g, ' '))).toEqual([
      'STEP WEIGHT HOLD STARTS EARLIEST ADVANCE TESTERS',
      '1 testers only 0% 15m 2026-03-30T07:00:00Z (Mon 2026-03-30 09:00 GMT+2) 2026-03-30T07:15:00Z (Mon 2026-03-30 09:15 GMT+2) header X-Canary: yes, cookie canary: always',
      '2 0.1% 10m 2026-03-30T07:15:00Z (Mon 2026-03-30 09:15 GMT+2) 2026-03-30T07:25:00Z (Mon 2026-03-30 09:25 GMT+2) header X-Canary: yes, cookie canary: always',
      '3 1% 5m 2026-03-30T07:25:00Z (Mon 2026-03-30 09:25 GMT+2) 2026-03-30T07:30:00Z (Mon 2026-03-30 09:30 GMT+2) header X-Canary: yes, cookie canary: always',
      '4 5% 5m 2026-03-30T07:30:00Z (Mon 2026-03-30 09:30 GMT+2) 2026-03-30T07:35:00Z (Mon 2026-03-30 09:35 GMT+2) after resume header X-Canary: yes, cookie canary: always',
      '5 50% 1h 2026-03-30T07:35:00Z (Mon 2026-03-30 09:35 GMT+2) 2026-03-30T08:35:00Z (Mon 2026-03-30 10:35 GMT+2) header X-Canary: yes, cookie canary: always',
    ]);
    expect(result.stdout).toContain('Promotion begins: 2026-03-30T08:35:00Z');
    expect(result.stdout).toContain(
      'Release deadline: 2026-03-30T19:00:00Z (Mon 2026-03-30 21:00 GMT+2) (timeouts.release 12h from the first step; past it the release rolls back)',
    );
    expect(result.stdout).toContain(
      'Canary removed:   5s after its weight is 0 (promotion, rollback, abort: spec.traffic.drainDelay)',
    );
  });

  it('starts now by default and plans every policy of a file', async () => {
    const result = await run('plan', join(fixtures, 'valid/several-documents.yaml'));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Release starts:  2026-03-27T15:00:00Z');
    expect(result.stdout).toContain('1 preview (testers only)');
    expect(result.stdout).toContain('Promotion begins: 2026-03-27T15:20:00Z'); // api: 4 steps of 5m
    expect(result.stdout).toContain('Promotion begins: 2026-03-27T15:40:00Z'); // worker: preview 10m, switch-back 30m
  });

  it('shows the replica-ratio share of each step, assuming 10 replicas unless told', async () => {
    const result = await run('plan', join(fixtures, '../../../config/examples/replica-ratio.yaml'));
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const at = lines.findIndex((line) => line.startsWith('Traffic by '));
    expect(lines.slice(at, at + 6)).toEqual([
      'Traffic by replica-ratio: 10 stable replicas assumed (plan reads nothing from the cluster; pass --replicas N), surge budget 4, maxShareError not set (warns beyond a fifth of the weight)',
      'STEP  WEIGHT  ACHIEVABLE  CANARY  STABLE',
      '1     5%      6.67%       1       14 (+4 surge)',
      '2     25%     25%         4       12 (+2 surge)',
      '3     50%     50%         10      10',
      'warning: step 1: replica-ratio reaches 6.67 % with 1 canary beside 14 stable; a surge budget of 6 would reach 5.88 %',
    ]);
  });

  it('uses --replicas and warns about each step beyond maxShareError', async () => {
    const result = await run('plan', join(fixtures, 'valid/replica-ratio-tolerance.yaml'), '--replicas', '20');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const at = lines.findIndex((line) => line.startsWith('Traffic by '));
    expect(lines.slice(at, at + 7)).toEqual([
      'Traffic by replica-ratio: 20 stable replicas, surge budget 9, maxShareError 1',
      'STEP  WEIGHT  ACHIEVABLE  CANARY  STABLE',
      '1     2%      3.33%       1       29 (+9 surge)',
      '2     10%     10%         3       27 (+7 surge)',
      '3     25%     25%         7       21 (+1 surge)',
      '4     50%     50%         20      20',
      'warning: step 1: replica-ratio reaches 3.33 % with 1 canary beside 29 stable (maxShareError 1); a surge budget of 13 would reach 2.94 %',
    ]);
    // With enough replicas every step is within a point: no warning at all.
    const large = await run('plan', join(fixtures, 'valid/replica-ratio-tolerance.yaml'), '--replicas', '50');
    expect(large.stdout).toContain('1     2%      1.96%       1       50\n');
    expect(large.stdout).not.toContain('warning:');
  });

  it('says auto may pick replica-ratio, and leaves ingress-nginx and blue/green policies alone', async () => {
    const auto = await run('plan', join(fixtures, 'valid/minimal.yaml'), '--replicas', '20');
    expect(auto.stdout).toContain(
      'Traffic by replica-ratio (if auto picks it: no Ingress or HTTPRoute routes to the Service): 20 stable replicas, surge budget 0',
    );
    expect(auto.stdout).toContain('warning: step 1: replica-ratio reaches 4.76 % with 1 canary beside 20 stable');
    const ingress = await run('plan', join(fixtures, 'valid/ingress-nginx-full.yaml'));
    expect(ingress.stdout).not.toContain('Traffic by');
    expect(ingress.stdout).not.toContain('warning:');
    const several = await run('plan', join(fixtures, 'valid/several-documents.yaml'));
    expect(several.stdout.match(/Traffic by/g)).toHaveLength(1); // api (replica-ratio), not worker (blueGreen)
  });

  const planOf = async (spec: string, ...args: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(
      file,
      `apiVersion: canaryd.dev/v1alpha1\nkind: CanaryPolicy\nmetadata: { name: web }\nspec:\n  target: { deployment: web, service: web, router: ingress-nginx }\n${spec}`,
    );
    return { file, ...(await run('plan', file, ...args)) };
  };

  it('holds an analysed step at least one analysis interval, as the engine does', async () => {
    const result = await planOf(
      '  strategy: { steps: [{ weight: 1, hold: 1m }] }\n  analysis: { interval: 5m, checks: [{ name: s, type: successRate }] }\n',
    );
    expect(result.stderr).toContain('warning: spec.strategy.steps[0].hold: 1m is shorter than the analysis interval');
    expect(result.stdout).toContain('Promotion begins: 2026-03-27T15:05:00Z');
  });

  it.each([
    [
      'a one-off blackout covers the whole search horizon',
      '  schedule: { blackouts: [{ start: "2026-03-01T00:00:00Z", end: "2026-06-01T00:00:00Z", reason: freeze }] }\n',
      'spec.schedule: policy default/web: the release can never start: blackouts cover all time for the next 35 days',
    ],
    [
      'the advance windows make the release outlast its timeout',
      '  timeouts: { release: 1h, canaryReady: 5m }\n  strategy: { steps: [{ weight: 1, hold: 10m }] }\n  schedule: { advanceWindows: [{ cron: "0 9 * * MON", duration: 1h }] }\n',
      'spec.timeouts.release: policy default/web: promotion could begin at 2026-03-30T09:00:00Z at the earliest, after the release deadline 2026-03-27T16:00:00Z (timeouts.release 1h): the release would roll back',
    ],
  ])('exits 1 and says why when %s', async (_case, spec, reason) => {
    const result = await planOf(spec);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${result.file}:1: ${reason}\n`);
  });

  it.each([
    [
      'recurring blackouts cover all time',
      '  schedule: { blackouts: [{ cron: "0 0 * * *", duration: 24h }] }\n',
      'spec.schedule.blackouts: no release can ever start: the recurring blackouts cover all time (checked for 35 days)',
    ],
    [
      'every start window is in a blackout',
      '  schedule:\n    startWindows: [{ cron: "0 9 * * MON", duration: 1h }]\n    blackouts: [{ cron: "0 0 * * MON", duration: 24h }]\n',
      'spec.schedule.blackouts: no release can ever start: the recurring blackouts cover every start window (checked for 35 days)',
    ],
    [
      'every advance window is in a blackout',
      '  schedule:\n    advanceWindows: [{ cron: "0 9 * * SAT", duration: 1h }]\n    blackouts: [{ cron: "0 0 * * SAT", duration: 48h }]\n',
      'spec.schedule.blackouts: no step can ever advance: the recurring blackouts cover every advance window (checked for 35 days)',
    ],
  ])('refuses (validate and plan, exit 1) a schedule in which %s', async (_case, spec, message) => {
    const planned = await planOf(spec);
    expect(planned.code).toBe(1);
    expect(planned.stderr).toContain(message);
    const validated = await run('validate', planned.file);
    expect(validated.code).toBe(1);
    expect(validated.stderr).toContain(message);
  });

  it('shows the backendRef weights gateway-api writes at each step (testers-only first), exact down to 0.1 %', async () => {
    const result = await run('plan', join(fixtures, '../../../config/examples/gateway-api-canary.yaml'));
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const at = lines.indexOf(
      'Traffic by gateway-api: backendRef weights in each rule that sends to Service catalog (catalog)',
    );
    expect(lines.slice(at + 1, at + 4)).toEqual([
      'STEP  WEIGHT  CANARY  STABLE',
      '1     0%      0       100',
      '2     0.1%    1       999',
    ]);
    expect(result.stdout).not.toContain('replica-ratio');
    expect(result.stdout).not.toContain('warning:');
  });

  it.each(['0', '-3', '2.5', 'ten'])('exits 2 for --replicas %s', async (replicas) => {
    const result = await run('plan', join(fixtures, 'valid/minimal.yaml'), `--replicas=${replicas}`);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--replicas: expected the stable Deployment's replicas, a whole number >= 1");
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

describe('planOptions', () => {
  it('keeps warnings from other hooks beside the replica-ratio ones', async () => {
    const { planOptions } = await import('../../src/cli/plan.ts');
    const { loadPolicyFiles } = await import('../../src/policy/load.ts');
    const { policies } = await loadPolicyFiles(join(fixtures, 'valid/replica-ratio-tolerance.yaml'));
    const policy = policies[0]!.policy;
    const options = planOptions(
      { stableReplicas: 20, assumed: false },
      { warnings: (_, step) => (step.number === 1 ? ['from another module'] : []) },
    );
    expect(options.warnings?.(policy, { number: 1, weight: 2 })).toEqual([
      'from another module',
      'replica-ratio reaches 3.33 % with 1 canary beside 29 stable (maxShareError 1); a surge budget of 13 would reach 2.94 %',
    ]);
    expect(options.warnings?.(policy, { number: 2, weight: 10 })).toEqual([]);
  });
});
