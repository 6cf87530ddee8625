// The shapes the dashboard reads from canaryd's API (src/server/views.ts, series.ts, dashboard-kube.ts).

export interface ReleaseListItem {
  namespace: string;
  name: string;
  deployment: string;
  phase: string;
  weight: number;
  intendedWeight?: number;
  step: string;
  lastVerdict?: string;
  message: string;
  nextStepAt?: string;
  updatedAt: string;
}

export interface StepView {
  weight: number;
  holdSeconds: number;
  pause: boolean;
  testersOnly: boolean;
}

export interface OperationRecord {
  id: string;
  op: string;
  by: string;
  at: string;
  result: string;
  toRevision?: number;
}

export interface HistoryEntry {
  revision: number;
  changeCause: string;
  startedAt: string;
  endedAt: string;
  outcome: string;
  reason: string;
  operations: OperationRecord[];
}

export interface CurrentRelease {
  revision: number;
  changeCause: string;
  noticedAt: string;
  startedAt?: string;
  stepIndex: number;
  stepStartedAt?: string;
  weight: number;
  achievedWeight?: number;
  pausedBy?: { cause: string; by: string; at: string; reason: string };
  reason: string;
  operations?: OperationRecord[];
}

export interface Measurement {
  check: string;
  at: string;
  value: number | null;
  stableValue?: number | null;
  sample: number | null;
  verdict: string;
  reason: string;
}

export interface ReleaseView {
  namespace: string;
  name: string;
  spec: {
    deployment: string;
    service: string;
    router: string;
    strategy: string;
    steps: StepView[];
    checks: string[];
  } | null;
  observed: boolean;
  status: {
    phase: string;
    weight: number;
    intendedWeight?: number;
    step: string;
    router?: string;
    message: string;
    release: {
      phase: string;
      reason: string;
      current?: CurrentRelease;
      history: HistoryEntry[];
      recentOperations?: OperationRecord[];
    };
    analysis: { measurements: Measurement[]; lastRound?: { at: string; verdict: string } };
    nextStepAt?: string;
    nextAnalysisAt?: string;
    updatedAt: string;
  };
}

export type Points = Array<[number, number | null]>;

export interface Thresholds {
  min?: number;
  max?: number;
  maxAbove?: number;
  maxBelow?: number;
  maxRatio?: number;
}

export interface ChartCheck {
  name: string;
  critical: boolean;
  thresholds: Thresholds;
  query?: string;
  stableQuery?: string;
  lastVerdict?: string;
  lastReason?: string;
  canary: Points;
  stable?: Points;
  error?: string;
}

export interface ReleaseCharts {
  start: string;
  end: string;
  stepSeconds: number;
  checks: ChartCheck[];
}

export interface EventView {
  type: string;
  reason: string;
  message: string;
  object: string;
  count: number;
  lastSeen: string;
}
