// deploy/grafana/canaryd.json as data: every PromQL query of its panels and annotations, and the
// Grafana variables they use replaced the way Grafana replaces them before asking Prometheus.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../cluster/cluster.ts';

export const DASHBOARD_FILE = join(REPO_ROOT, 'deploy', 'grafana', 'canaryd.json');

export interface DashboardDatasource {
  type?: string;
  uid?: string;
}

export interface DashboardTarget {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  datasource?: DashboardDatasource;
}

export interface DashboardPanel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: DashboardDatasource;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}

export interface DashboardAnnotation {
  name: string;
  expr?: string;
  step?: string;
  datasource?: DashboardDatasource;
  enable?: boolean;
}

export interface DashboardVariable {
  name: string;
  type: string;
  query?: string | { query: string };
  datasource?: DashboardDatasource;
  includeAll?: boolean;
  allValue?: string;
}

export interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  annotations: { list: DashboardAnnotation[] };
  templating: { list: DashboardVariable[] };
}

export function readDashboard(file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

/** Every panel, rows' nested panels included (a collapsed row keeps its panels inside it). */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

export interface DashboardQuery {
  /** "panel <title> / <refId>" or "annotation <name>": where the query sits in the JSON. */
  where: string;
  panel?: string;
  annotation?: string;
  expr: string;
  instant: boolean;
}

export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      queries.push({
        where: `panel "${panel.title}" / ${target.refId}`,
        panel: panel.title,
        expr: target.expr ?? '',
        instant: target.instant === true && target.range !== true,
      });
    }
  }
  for (const annotation of dashboard.annotations.list) {
    queries.push({
      where: `annotation "${annotation.name}"`,
      annotation: annotation.name,
      expr: annotation.expr ?? '',
      instant: false,
    });
  }
  return queries;
}

/** Grafana's own variables that may appear in a query. */
export const BUILTIN_VARIABLES = ['__range', '__rate_interval', '__interval'] as const;

/** `$name`, `${name}` and `[[name]]` references in a query. */
export function variablesIn(expr: string): string[] {
  const names = new Set<string>();
  for (const match of expr.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g)) {
    names.add((match[1] ?? match[2] ?? match[3]) as string);
  }
  return [...names];
}

/** The query as Grafana sends it, with each variable replaced by its value (regex values as-is). */
export function interpolate(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (_whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c) as string;
    const value = values[name];
    if (value === undefined) throw new Error(`no value for the Grafana variable $${name} in ${expr}`);
    return value;
  });
}
