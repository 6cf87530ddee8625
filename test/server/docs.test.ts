import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clusterCommands } from '../../src/cli/commands/index.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import { API_ERRORS } from '../../src/server/errors.ts';

const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

describe('docs/api.md', () => {
  const api = doc('api.md');

  it('lists every error code with its status and message, and no other', () => {
    for (const [code, { status, message }] of Object.entries(API_ERRORS)) {
      expect(api).toContain(`| \`${code}\` | ${status} | ${message} |`);
    }
    const errors = api.slice(api.indexOf('## Errors'));
    const documented = [...errors.matchAll(/^\| `([a-z-]+)` \| \d{3} \|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(API_ERRORS).sort());
  });

  it('documents every route', () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/api/v1/releases']) {
      expect(api).toContain(`GET ${path}`);
    }
    expect(api).toContain('GET /api/v1/namespaces/NS/releases/NAME');
    for (const op of ['pause', 'resume', 'promote', 'abort', 'retry', 'undo'])
      expect(api).toMatch(new RegExp(`POST …/${op}\\b|/${op}\` \\|`));
  });
});

describe('docs/operations.md', () => {
  const operations = doc('operations.md');

  it('documents every kubectl canary cluster command', () => {
    for (const name of Object.keys(clusterCommands())) expect(operations).toContain(`kubectl canary ${name}`);
  });

  it('documents every canaryd metric', async () => {
    const metrics = await createMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON();
    for (const { name } of metrics) expect(operations).toContain(`| \`${name}\` |`);
  });
});
