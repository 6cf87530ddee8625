// Runs one analysis round for a release: resolves Prometheus (and its Secrets), evaluates every
// check, and returns the updated analysis status. Measurements never throw: an unreachable
// Prometheus is an inconclusive round, never a pass and never a blind rollback.
import {
  type AnalysisTarget,
  analysisWindowMs,
  appendMeasurements,
  createPrometheusProvider,
  evaluateRound,
  type MetricProvider,
  type PrometheusCredentials,
  prometheusClientOptions,
  recordRound,
} from '../analysis/index.ts';
import type { SecretSource } from '../kube/secrets.ts';
import type { CanaryPolicy, PrometheusSpec } from '../policy/schema.ts';
import { parseDuration } from '../schedule/duration.ts';
import type { AnalysisStatus } from './status.ts';

/** The release's own instants: a round counts nothing from before them (analysis/window.ts). */
export interface RoundStarts {
  releaseStartedAt?: Date | undefined;
  stepStartedAt?: Date | undefined;
}

export interface AnalysisRunner {
  run(
    policy: CanaryPolicy,
    target: AnalysisTarget,
    analysis: AnalysisStatus,
    now: Date,
    starts?: RoundStarts,
  ): Promise<AnalysisStatus>;
}

export class PrometheusAnalysisRunner implements AnalysisRunner {
  readonly #secrets: SecretSource;
  readonly #defaultPrometheus: PrometheusSpec | undefined;
  readonly #providers = new Map<string, MetricProvider>();
  readonly #instrument: ((provider: MetricProvider) => MetricProvider) | undefined;

  /**
   * `secrets` reads the Prometheus credentials (kube/secrets.ts, the one Secret reader);
   * `instrument` wraps each Prometheus provider (main.ts: timing and errors by code as metrics).
   */
  constructor(
    secrets: SecretSource,
    options: { defaultPrometheus?: PrometheusSpec; instrument?: (provider: MetricProvider) => MetricProvider } = {},
  ) {
    this.#secrets = secrets;
    this.#defaultPrometheus = options.defaultPrometheus;
    this.#instrument = options.instrument;
  }

  async run(
    policy: CanaryPolicy,
    target: AnalysisTarget,
    analysis: AnalysisStatus,
    now: Date,
    starts: RoundStarts = {},
  ): Promise<AnalysisStatus> {
    const spec = policy.spec.analysis;
    const prometheus = spec.prometheus ?? this.#defaultPrometheus;
    // A round that cannot start (a Secret or key missing) is an inconclusive round saying why,
    // never a failed action retried silently until the release times out.
    const provider = prometheus
      ? await this.#provider(policy.metadata.namespace, prometheus).catch(cannotStart)
      : unconfigured;
    const measurements = await evaluateRound(spec, provider, {
      target,
      windowMs: analysisWindowMs(spec),
      now,
      ...starts,
      metrics: spec.metrics,
      // Sequential checks continue from the evidence persisted in status (survives restarts).
      intervalMs: parseDuration(spec.interval),
      evidence: analysis.counters.sequential,
    });
    return {
      templateHash: analysis.templateHash,
      counters: recordRound(analysis.counters, measurements, now),
      measurements: appendMeasurements(analysis.measurements, measurements),
    };
  }

  async #provider(namespace: string, spec: PrometheusSpec): Promise<MetricProvider> {
    const credentials = await this.#credentials(namespace, spec);
    const key = JSON.stringify([spec.address, spec.timeout, spec.insecureSkipVerify, credentials]);
    let provider = this.#providers.get(key);
    if (provider === undefined) {
      const inner = createPrometheusProvider(prometheusClientOptions(spec, credentials));
      provider = this.#instrument?.(inner) ?? inner;
      this.#providers.set(key, provider);
    }
    return provider;
  }

  async #credentials(
    namespace: string,
    spec: PrometheusSpec,
  ): Promise<Omit<PrometheusCredentials, 'insecureSkipVerify'>> {
    const read = (ref: { name: string; key?: string } | undefined, defaultKey: string) =>
      ref === undefined
        ? Promise.resolve(undefined)
        : this.#secrets.value({ namespace, name: ref.name, key: ref.key ?? defaultKey });
    const bearerToken = await read(spec.bearerTokenSecretRef, 'token');
    const username = await read(
      spec.basicAuthSecretRef && { name: spec.basicAuthSecretRef.name, key: 'username' },
      'username',
    );
    const password = await read(
      spec.basicAuthSecretRef && { name: spec.basicAuthSecretRef.name, key: 'password' },
      'password',
    );
    const ca = await read(spec.caSecretRef, 'ca.crt');
    return {
      ...(bearerToken ? { bearerToken } : {}),
      ...(username !== undefined && password !== undefined ? { basicAuth: { username, password } } : {}),
      ...(ca ? { ca } : {}),
    };
  }
}

/** Prometheus cannot be set up (its credentials): every query of the round fails with the reason. */
const cannotStart = (error: unknown): MetricProvider => {
  const reason = `analysis cannot start: ${error instanceof Error ? error.message : String(error)}`;
  return {
    async query() {
      throw new Error(reason);
    },
  };
};

/** A policy with checks but no Prometheus address anywhere: every round is inconclusive. */
const unconfigured: MetricProvider = {
  async query() {
    throw new Error('no Prometheus configured: set spec.analysis.prometheus.address or the controller default');
  },
};
