// The built-in queries evaluated by Prometheus' own engine (promtool test rules) on the series a
// data plane that reuses the canary backend's name leaves behind (Traefik, ingress-nginx).
// Issue 11: counting from the release's start is what keeps one release's requests out of the
// next one's verdict, in both directions.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { traefikCanaryRequestsQuery, traefikSuccessRateQuery } from '../../src/analysis/traefik.ts';
import { roundWindow } from '../../src/analysis/window.ts';
import { target } from './builtin-queries.ts';

const CANARY = 'traefik_service_requests_total{service="shop-web-web-80-canary@kubernetesingressnginx",code="%s"}';
const series = (code: string, values: string) => ({ series: CANARY.replace('%s', code), values });

/** The value of each expression at `evalSeconds` (promtool's clock starts at 0), per Prometheus. */
function evaluate(inputSeries: { series: string; values: string }[], evalSeconds: number, expressions: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'canaryd-counting-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), JSON.stringify({ groups: [] }));
    // promtool prints the value it got for every expectation that differs: ask for -1 each time.
    const promqlTests = expressions.map((expr) => ({
      expr,
      eval_time: `${evalSeconds}s`,
      exp_samples: [{ labels: '{}', value: -1 }],
    }));
    const test = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1s',
      tests: [{ interval: '1s', input_series: inputSeries, promql_expr_test: promqlTests }],
    };
    writeFileSync(join(dir, 'test.yaml'), JSON.stringify(test));
    let output = '';
    try {
      output = execFileSync('promtool', ['test', 'rules', join(dir, 'test.yaml')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      // The expected failure: promtool names the values it got on stderr, in order.
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      output = `${stdout ?? ''}${stderr ?? ''}`;
    }
    const values = [...output.matchAll(/got: \{\} (\S+)/g)].map((match) => Number(match[1]));
    if (values.length !== expressions.length) throw new Error(`promtool gave ${values.length} values:\n${output}`);
    return values;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// One promtool run per case; it may take seconds on a loaded machine.
const PROMTOOL_TIMEOUT_MS = 30_000;

const windowMs = 60_000;
const at = (seconds: number) => new Date(seconds * 1000);

describe('the built-in checks counted by Prometheus (promtool)', () => {
  it(
    'judges a healthy release started 10 s after a rolled-back one on its own requests only',
    () => {
      // 0-60 s: the previous canary fails 20 % (8 good, 2 bad per second), then is rolled back.
      // From 70 s the new, healthy canary serves 8 requests a second on the same backend name.
      const input = [series('200', '0+8x60 480x9 488+8x10'), series('500', '0+2x60 120x20')];
      const capped = roundWindow({ windowMs, now: at(80), releaseStartedAt: at(70), stepStartedAt: at(70) });
      const uncapped = roundWindow({ windowMs, now: at(80) });
      const [successRate, sample, uncappedRate] = evaluate(input, 80, [
        traefikSuccessRateQuery(target, 'canary', capped.fromMs),
        traefikCanaryRequestsQuery(target, capped.fromMs),
        traefikSuccessRateQuery(target, 'canary', uncapped.fromMs),
      ]);
      expect(successRate).toBe(100);
      expect(sample).toBe(80);
      // What a window reaching back before the release read: the old canary's errors.
      expect(uncappedRate).toBeCloseTo((100 * 400) / 480, 6);
    },
    PROMTOOL_TIMEOUT_MS,
  );

  it(
    'reads a canary failing 30 % after a healthy, promoted one as 70 %, its first error series counted whole',
    () => {
      // 0-60 s: the previous (healthy) canary at a large weight, 25 requests a second. From 70 s
      // the new canary gets 1 request a second, 30 % of them 500s: its code="500" series is new.
      const input = [series('200', '0+25x60 1500x9 1500.7+0.7x19'), series('500', '_x71 0.3+0.3x19')];
      const capped = roundWindow({ windowMs, now: at(90), releaseStartedAt: at(70), stepStartedAt: at(70) });
      const uncapped = roundWindow({ windowMs, now: at(90) });
      const [successRate, sample, uncappedRate] = evaluate(input, 90, [
        traefikSuccessRateQuery(target, 'canary', capped.fromMs),
        traefikCanaryRequestsQuery(target, capped.fromMs),
        traefikSuccessRateQuery(target, 'canary', uncapped.fromMs),
      ]);
      expect(successRate).toBeCloseTo(70, 6);
      expect(sample).toBeCloseTo(20, 6);
      // The previous canary's successes hid the errors (the demo once read such a canary as 94 %).
      expect(uncappedRate).toBeGreaterThan(98);
    },
    PROMTOOL_TIMEOUT_MS,
  );
});
