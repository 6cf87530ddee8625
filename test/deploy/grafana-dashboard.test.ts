// deploy/grafana/canaryd.json is a dashboard Grafana can import anywhere: every panel has a
// Prometheus datasource chosen by the ${DS_PROMETHEUS} variable (no uid of one Grafana baked
// in), targets with unique refIds, unique ids, no overlapping tiles, and queries that parse and
// name only metrics and labels canaryd really exports. e2e/grafana-dashboard.test.ts runs the
// queries against the real Prometheus scraping a running canaryd.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metric } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  allPanels,
  BUILTIN_VARIABLES,
  type DashboardDatasource,
  dashboardQueries,
  interpolate,
  readDashboard,
  variablesIn,
} from '../../e2e/support/grafana.ts';
import { createMetrics } from '../../src/metrics/index.ts';

const dashboard = readDashboard();
const panels = allPanels(dashboard).filter((panel) => panel.type !== 'row');
const queries = dashboardQueries(dashboard);
// The literal Grafana variable reference, not a JavaScript template.
const PROMETHEUS = { type: 'prometheus', uid: ['$', '{DS_PROMETHEUS}'].join('') };

/** Every datasource reference anywhere in the JSON, with where it is. */
function datasources(node: unknown, path = ''): Array<{ path: string; datasource: DashboardDatasource }> {
  if (Array.isArray(node)) return node.flatMap((child, index) => datasources(child, `${path}[${index}]`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => {
    const here = `${path}.${key}`;
    if (key === 'datasource' && value !== null && typeof value === 'object') {
      return [{ path: here, datasource: value as DashboardDatasource }, ...datasources(value, here)];
    }
    return datasources(value, here);
  });
}

describe('deploy/grafana/canaryd.json', () => {
  it('is a dashboard with a title, a stable uid and a current schema', () => {
    expect(dashboard.title).toBe('canaryd');
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(panels.length).toBeGreaterThanOrEqual(10);
  });

  it('chooses its Prometheus through the DS_PROMETHEUS variable, never a hard-coded uid', () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
    expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const references = datasources(dashboard);
    expect(references.length).toBeGreaterThan(panels.length);
    for (const { path, datasource } of references) expect(datasource, path).toEqual(PROMETHEUS);
  });

  it('every panel has a datasource, a description and targets with unique refIds and a query', () => {
    for (const panel of panels) {
      const name = `panel "${panel.title}"`;
      expect(panel.datasource, name).toEqual(PROMETHEUS);
      expect(panel.description, name).toBeTruthy();
      expect(panel.targets?.length, name).toBeGreaterThan(0);
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, `${name} refIds`).toBe(refIds.length);
      for (const target of panel.targets ?? []) {
        expect(target.datasource, `${name} / ${target.refId}`).toEqual(PROMETHEUS);
        expect(target.expr?.trim(), `${name} / ${target.refId}`).toBeTruthy();
      }
    }
  });

  it('panel ids are unique and tiles do not overlap on the 24-column grid', () => {
    const all = allPanels(dashboard);
    const ids = all.map((panel) => panel.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    for (const panel of all) {
      const { x, y, w, h } = panel.gridPos ?? { x: -1, y: -1, w: 0, h: 0 };
      expect(x >= 0 && w > 0 && x + w <= 24 && h > 0, `panel "${panel.title}" gridPos`).toBe(true);
      for (let row = y; row < y + h; row++) {
        for (let column = x; column < x + w; column++) {
          const taken = cells.get(`${column},${row}`);
          expect(taken, `panel "${panel.title}" overlaps "${taken}"`).toBeUndefined();
          cells.set(`${column},${row}`, panel.title ?? '');
        }
      }
    }
  });

  it('has release annotations from the release counters, each with a query and the datasource', () => {
    const names = dashboard.annotations.list.map((a) => a.name);
    expect(names).toEqual(expect.arrayContaining(['Release started', 'Release promoted', 'Release rolled back']));
    for (const annotation of dashboard.annotations.list) {
      expect(annotation.datasource, annotation.name).toEqual(PROMETHEUS);
      expect(annotation.expr, annotation.name).toMatch(/canaryd_/);
    }
  });

  it('queries use only the variables the dashboard defines (or Grafana built-ins)', () => {
    const defined = new Set<string>([...dashboard.templating.list.map((v) => v.name), ...BUILTIN_VARIABLES]);
    for (const variable of dashboard.templating.list) {
      if (variable.type === 'query') expect(variable.datasource, variable.name).toEqual(PROMETHEUS);
    }
    for (const query of queries) {
      for (const name of variablesIn(query.expr)) expect(defined.has(name), `${query.where}: $${name}`).toBe(true);
    }
  });

  it('names only metrics and labels canaryd exports (src/metrics)', () => {
    const registry = createMetrics().registry;
    const labelsOf = (name: string): string[] | undefined => {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const metric = (registry.getSingleMetric(name) ?? registry.getSingleMetric(base)) as
        | (Metric & { labelNames?: string[] })
        | undefined;
      if (metric === undefined) return undefined;
      const extra = name.endsWith('_bucket') && base !== name ? ['le'] : [];
      return [...(metric.labelNames ?? []), ...extra, 'job', 'instance'];
    };
    const expressions = [
      ...queries.map((q) => ({ where: q.where, expr: q.expr })),
      ...dashboard.templating.list
        .filter((v) => v.type === 'query')
        .map((v) => ({
          where: `variable $${v.name}`,
          expr: typeof v.query === 'string' ? v.query : (v.query?.query ?? ''),
        })),
    ];
    for (const { where, expr } of expressions) {
      const names = expr.match(/\bcanaryd_\w+/g) ?? [];
      expect(names.length, where).toBeGreaterThan(0);
      for (const name of names) expect(labelsOf(name), `${where}: ${name}`).toBeDefined();
      // Label matchers in selectors: metric{label=...}.
      for (const [, metric, matchers] of expr.matchAll(/\b(canaryd_\w+)\{([^}]*)\}/g)) {
        for (const [, label] of (matchers ?? '').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) {
          expect(labelsOf(metric as string), `${where}: ${metric} has no label ${label}`).toContain(label);
        }
      }
    }
  });

  it('every query parses as PromQL (promtool) once Grafana filled in its variables', () => {
    const values = {
      job: 'canaryd',
      namespace: 'shop',
      policy: '.*',
      __range: '6h',
      __rate_interval: '1m',
      __interval: '15s',
    };
    const expressions = queries.map((q) => interpolate(q.expr, values));
    const dir = mkdtempSync(join(tmpdir(), 'canaryd-dashboard-'));
    try {
      const file = join(dir, 'rules.yaml');
      const rules = expressions.map((expr, index) => ({ record: `canaryd:dashboard_${index}`, expr }));
      // JSON is YAML: every expression stays one quoted scalar.
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'canaryd-dashboard', rules }] }));
      const output = execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(output).toContain(`SUCCESS: ${expressions.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
