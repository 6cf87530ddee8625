// canaryd: the composition root (src/main.ts is the entry that loads it). settings → Kubernetes client → routers, analysis → controller →
// watches (→ leader election) → HTTP server. Graceful on SIGTERM: stop taking work, finish the
// reconcile in progress (no half-applied step), release the lease, close the server.

import { admissionChecker } from './controller/actor.ts';
import { PrometheusAnalysisRunner } from './controller/analysis-runner.ts';
import { Controller } from './controller/controller.ts';
import { applyFilePolicies } from './controller/file-policies.ts';
import { policyKeyOf } from './controller/names.ts';
import { orphanSweepOver } from './controller/orphan-sweep.ts';
import { policyOnRecord } from './controller/status.ts';
import { HookRunner, hookMetrics } from './hooks/index.ts';
import { BackgroundEventRecorder } from './kube/background-events.ts';
import { CachedKubeApi } from './kube/cached-api.ts';
import { ClientKubeApi, loadKubeConfig } from './kube/client.ts';
import { KubeEventRecorder } from './kube/events.ts';
import { type Informers, startInformers, watchedBy } from './kube/informers.ts';
import { LeaderElector } from './kube/lease.ts';
import { ObjectStore } from './kube/object-store.ts';
import { KubeSecretSource } from './kube/secrets.ts';
import { jsonLogger } from './log/logger.ts';
import { createMetrics, instrumentKubeApi, instrumentMetricProvider } from './metrics/index.ts';
import { notifyMetrics } from './notify/metrics.ts';
import { Notifier } from './notify/notifier.ts';
import { Outbox } from './notify/outbox.ts';
import { ConfigMapOutboxStore } from './notify/outbox-store.ts';
import { inShard, shardLeaseName, shardOutbox } from './policy/shard.ts';
import { watchPolicyDirectory } from './policy/watch.ts';
import { parseDuration } from './schedule/duration.ts';
import { build, kubeServerDeps, listen } from './server/index.ts';
import { loadNotificationSettings } from './settings/notifications.ts';
import { loadSettings } from './settings/settings.ts';
import { routersOver } from './traffic/routers.ts';

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const settings = loadSettings(argv, env);
  const log = jsonLogger(settings.logLevel);
  const kc = loadKubeConfig(settings.kubeconfig);
  const metrics = createMetrics();
  const kube = instrumentKubeApi(new ClientKubeApi(kc), metrics);
  // The controller reads from the watch caches (the HTTP API, served by followers too, reads live).
  const store = new ObjectStore();
  let informers: Informers | undefined;
  const cached = new CachedKubeApi(kube, store, {
    synced: (kind) => informers?.kindSynced(kind) ?? false,
    onLiveRead: (verb, kind, reason) => metrics.countLiveRead(verb, kind, reason),
    // A policy of another shard (one that just moved) is not this replica's to reconcile.
    inScope: (object) => object.kind !== 'CanaryPolicy' || inShard(object, settings.shard),
  });
  metrics.cacheSizes(() => store.counts());
  metrics.queueDepth(() => controller.queueDepth);
  // Written in the background (a reconcile does not wait for its Events), like client-go's recorder.
  const events = new BackgroundEventRecorder(new KubeEventRecorder(kube), {
    onError: (error, reason) => log.warn('could not record event', { reason, error: error.message }),
    onDrop: (reason) => {
      metrics.countDroppedEvent();
      log.warn('event dropped: too many Events waiting to be written', { reason });
    },
  });
  metrics.eventsPending(() => events.pending);
  // Every Secret read of the controller goes through this one reader, over the watch caches
  // (which answer from the API server while they hold no Secrets).
  const secrets = new KubeSecretSource(cached, { watched: () => informers?.kindSynced('Secret') ?? false });
  const notificationSettings = await loadNotificationSettings(settings.notifications);
  // What the receivers are still owed survives a restart or a new leader (docs/notifications.md).
  const [outboxNamespace, outboxName] = (
    settings.notificationsOutbox ?? shardOutbox(settings.leaseNamespace, settings.shard)
  ).split('/') as [string, string];
  const outbox =
    notificationSettings.receivers.length === 0
      ? undefined
      : new Outbox({ store: new ConfigMapOutboxStore(kube, outboxNamespace, outboxName), log });
  const notifier = new Notifier(notificationSettings, {
    secrets,
    events,
    metrics: notifyMetrics(metrics.registry),
    log,
    ...(outbox === undefined ? {} : { outbox }),
  });
  const routers = routersOver(cached);
  const defaultPrometheus = settings.prometheusUrl
    ? { address: settings.prometheusUrl, timeout: '5s', insecureSkipVerify: false }
    : undefined;
  const analysis = new PrometheusAnalysisRunner(secrets, {
    // Query time by result and failures by their MetricQueryError code (timeout, unreachable, ...).
    instrument: (provider) => instrumentMetricProvider(provider, metrics),
    defaultPrometheus,
  });
  // Hook answers come back outside any reconcile: each one enqueues its policy again.
  const hooks = new HookRunner({
    // The same reader as the notifications' (names the Secret and key when one is missing).
    readSecret: (namespace, name, key) => secrets.value({ namespace, name, key }),
    onAnswer: (namespace, name) => controller.enqueue(policyKeyOf(namespace, name)),
    log: log.info,
    metrics: hookMetrics(metrics.registry),
  });
  const controller: Controller = new Controller(
    {
      hooks,
      kube: cached,
      events,
      router: routers,
      analysis,
      now: () => new Date(),
      log,
      resyncMs: parseDuration(settings.resync),
      // Whether operation actors can be trusted (deploy/operation-actor-policy.yaml).
      admission: admissionChecker(kube, {
        onError: (error) => log.warn('cannot read the operation-actor admission policy', { error: error.message }),
      }),
      notify: (transition) => notifier.notify(transition),
      // Only an outbox makes use of them: it tells, after a restart, which ones were never handed over.
      notificationsInStatus: outbox !== undefined,
      // Per-policy gauges and counters follow every status the controller writes.
      onStatus: (namespace, name, status) => metrics.observeRelease(namespace, name, status),
    },
    {
      concurrency: settings.concurrency,
      ...(settings.wakeWorkers === undefined ? {} : { wakeReserve: settings.wakeWorkers }),
      onReconcile: (seconds, error) => metrics.observeReconcile(seconds, error),
      onDequeue: (seconds, lane) => metrics.observeQueueWait(seconds, lane),
      started: false,
    },
  );

  // Deployments left marked by a policy deleted without handing them back (its finalizer removed).
  const orphans = orphanSweepOver(cached, events, log);

  const startReconciling = () => {
    if (informers) return;
    informers = startInformers(
      kc,
      watchedBy(settings.shard),
      store,
      (event, object) => {
        if (event === 'delete' && object.kind === 'CanaryPolicy') {
          metrics.forgetPolicy(object.metadata.namespace ?? '', object.metadata.name);
        }
        log.debug?.('watch event', {
          event,
          kind: object.kind,
          object: `${object.metadata.namespace ?? ''}/${object.metadata.name}`,
        });
        controller.onEvent(event, object);
        orphans.onEvent(event, object);
      },
      log.warn,
      settings.namespace,
      {
        onEffect: (kind, effect) => metrics.countWatchEvent(kind, effect),
        onList: (kind) => metrics.countWatchList(kind),
      },
    );
    informers.synced.then(async () => {
      // Before any reconcile: what the previous canaryd still owed is queued first, in order,
      // then what the policies' latest decisions hold that its outbox never got (a crash).
      await notifier.restore(store.list('CanaryPolicy', '').map(policyOnRecord));
      log.info('caches synced; reconciling', { cached: store.counts() });
      controller.start();
      void orphans.start();
    });
  };
  let elector: LeaderElector | undefined;
  if (settings.leaderElect) {
    elector = new LeaderElector(kube, {
      namespace: settings.leaseNamespace,
      name: shardLeaseName(settings.leaseName, settings.shard),
      identity: settings.identity,
      leaseDurationMs: parseDuration(settings.leaseDuration),
      onStartedLeading: startReconciling,
      // A leader that lost its lease must not act on stale beliefs: exit, and start over as a follower.
      onStoppedLeading: () => shutdown('lost leadership', 1),
      log: log.info,
    });
    elector.start();
  } else {
    startReconciling();
  }

  // The API answers from the cluster itself, so a follower serves it too; only the leader
  // reconciles, and it is ready once its caches are synced.
  const app = build(
    kubeServerDeps(kube, {
      registry: metrics.registry,
      defaultPrometheus,
      readiness: () => {
        if (elector && !elector.leading) return { ready: true, reason: 'follower: standing by for the leader lease' };
        return informers?.isSynced()
          ? { ready: true, reason: 'caches synced' }
          : { ready: false, reason: 'waiting for the watch caches to sync' };
      },
    }),
  );
  const address = await listen(app, settings.listen);
  log.info('listening', { address });

  const policyWatch = settings.policyDir
    ? watchPolicyDirectory(settings.policyDir, {
        onLoad: (load) =>
          void applyFilePolicies(kube, load, log).catch((error: Error) =>
            log.error('applying policy files failed', { error: error.message }),
          ),
        onError: (error) => log.error('policy directory', { error: error.message }),
      })
    : undefined;

  let stopping = false;
  const shutdown = async (reason: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { reason });
    policyWatch?.close();
    await informers?.stop();
    // Finish the reconcile in progress (no half-applied step), then give the lease up.
    await controller.stop();
    // What is still owed stays in the outbox for the next leader; one that lost its lease writes
    // nothing more (the new leader owns the outbox now).
    await notifier.stop({ keepOutbox: reason !== 'lost leadership' });
    // The Events of the last reconciles, unless the API server is gone.
    await Promise.race([events.drain(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    await elector?.release();
    await app.close();
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  log.info('canaryd started', {
    identity: settings.identity,
    namespace: settings.namespace ?? '(all)',
    shard: settings.shard ?? '(policies without canaryd.dev/shard)',
    leaderElect: settings.leaderElect,
  });
}
