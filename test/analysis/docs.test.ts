import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SUCCESS_RATE_MIN } from '../../src/analysis/checks.ts';
import { DEFAULT_MEASUREMENT_LOG_SIZE } from '../../src/analysis/log.ts';
import { TEMPLATE_VARIABLES } from '../../src/analysis/promql.ts';
import { METRIC_QUERY_ERROR_CODES } from '../../src/analysis/provider.ts';
import * as queries from './builtin-queries.ts';

const docs = readFileSync(new URL('../../docs/analysis.md', import.meta.url), 'utf8');

describe('docs/analysis.md', () => {
  it('lists every query error code with its meaning', () => {
    for (const [code, meaning] of Object.entries(METRIC_QUERY_ERROR_CODES)) {
      // Table cells may be padded by the formatter.
      const escaped = meaning.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(docs).toMatch(new RegExp(`\\| \`${code}\` +\\| ${escaped} +\\|`));
    }
  });

  it('quotes the built-in queries verbatim', () => {
    for (const query of [
      queries.SUCCESS_RATE_CANARY,
      queries.SUCCESS_RATE_STABLE,
      queries.LATENCY_CANARY,
      queries.LATENCY_STABLE,
      queries.CANARY_REQUESTS,
      queries.TRAEFIK_SUCCESS_RATE_CANARY,
      queries.TRAEFIK_SUCCESS_RATE_STABLE,
      queries.TRAEFIK_LATENCY_CANARY,
      queries.TRAEFIK_LATENCY_STABLE,
      queries.TRAEFIK_CANARY_REQUESTS,
      queries.TRAEFIK_GATEWAY_SUCCESS_RATE_CANARY,
      queries.TRAEFIK_GATEWAY_SUCCESS_RATE_STABLE,
      queries.TRAEFIK_GATEWAY_LATENCY_CANARY,
      queries.TRAEFIK_GATEWAY_CANARY_REQUESTS,
    ]) {
      expect(docs).toContain(`\`\`\`promql\n${query}\n\`\`\``);
    }
  });

  it('documents every template variable and the defaults', () => {
    for (const variable of TEMPLATE_VARIABLES) expect(docs).toContain(`{{${variable}}}`);
    expect(docs).toContain(`\`min: ${DEFAULT_SUCCESS_RATE_MIN}\``);
    expect(docs).toContain(`the newest ${DEFAULT_MEASUREMENT_LOG_SIZE}`);
  });
});
