// Sharding across replicas (docs/scale.md, "Beyond one replica"): a CanaryPolicy labelled
// canaryd.dev/shard=NAME is reconciled by the replica started with --shard NAME, and only by it;
// a replica without --shard takes the policies without the label. Each shard elects its own
// leader over its own Lease and keeps its own notification outbox, so N shards are N independent
// controllers that split the policies between them. Pure: names and selectors only.

export const SHARD_LABEL = 'canaryd.dev/shard';

/** A shard's name is a label value that is also safe inside a Lease's and a ConfigMap's name. */
export const SHARD_NAME = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;

/** The label selector of the CanaryPolicies one replica watches (and so reconciles). */
export const policySelector = (shard: string | undefined): string =>
  shard === undefined ? `!${SHARD_LABEL}` : `${SHARD_LABEL}=${shard}`;

/** The Lease a shard's replicas elect their leader on: the base name, suffixed by the shard. */
export const shardLeaseName = (base: string, shard: string | undefined): string =>
  shard === undefined ? base : `${base}-${shard}`;

/** The ConfigMap keeping a shard's undelivered notifications (NAMESPACE/NAME). */
export const shardOutbox = (leaseNamespace: string, shard: string | undefined): string =>
  `${leaseNamespace}/canaryd-notifications${shard === undefined ? '' : `-${shard}`}`;

/** Which shard a policy belongs to (undefined: the replica started without --shard). */
const shardOf = (policy: { metadata: { labels?: Record<string, string> } }): string | undefined =>
  policy.metadata.labels?.[SHARD_LABEL];

/** Does the replica of `shard` reconcile this policy (the same test as policySelector's)? */
export const inShard = (
  policy: { metadata: { labels?: Record<string, string> } },
  shard: string | undefined,
): boolean => shardOf(policy) === shard;
