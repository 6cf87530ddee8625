// What identifies a revision: a hash of the Deployment's pod template, and a description of what
// changed between two templates for people (history, events).
import { createHash } from 'node:crypto';
import type { JsonValue } from '../engine/index.ts';
import { canonicalJson } from '../kube/canonical-json.ts';
import type { PodTemplate } from '../kube/objects.ts';

export function templateHash(template: PodTemplate | JsonValue): string {
  return createHash('sha256').update(canonicalJson(template)).digest('hex').slice(0, 12);
}

const imagesOf = (template: PodTemplate | undefined): Map<string, string> =>
  new Map((template?.spec?.containers ?? []).map((c) => [c.name, c.image ?? '']));

/**
 * "image app: demo:v1 → demo:v2", or the kubernetes.io/change-cause annotation when set, or
 * "pod template changed" when only other fields differ.
 */
export function describeChange(previous: PodTemplate | undefined, next: PodTemplate, changeCause?: string): string {
  if (changeCause) return changeCause;
  const before = imagesOf(previous);
  const changes: string[] = [];
  for (const [name, image] of imagesOf(next)) {
    const old = before.get(name);
    if (old === undefined) changes.push(`container ${name} added (${image})`);
    else if (old !== image) changes.push(`image ${name}: ${old} → ${image}`);
  }
  for (const name of before.keys()) if (!imagesOf(next).has(name)) changes.push(`container ${name} removed`);
  if (changes.length > 0) return changes.join(', ');
  return previous === undefined ? `images ${[...imagesOf(next).values()].join(', ')}` : 'pod template changed';
}
