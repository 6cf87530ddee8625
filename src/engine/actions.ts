// What the engine asks for: the actions the controller carries out, and decide()'s answer (the
// next state with those actions).
import type { HookName, HookReleaseContext } from './hook-calls.ts';
import type { JsonValue, ReleaseState } from './types.ts';

export type EventType = 'Normal' | 'Warning';

/**
 * What the controller must do, in the order given. Every action is idempotent; execute them in
 * order and stop at the first failure (then observe and call decide again).
 */
export type Action =
  | { type: 'adoptDeployment'; templateHash: string }
  | { type: 'applyTemplate'; templateHash: string; template: JsonValue }
  | { type: 'createCanary'; templateHash: string; template: JsonValue; replicas: number }
  | { type: 'scaleCanary'; replicas: number }
  | { type: 'prepareRoute' }
  | { type: 'setTesterRouting'; enabled: boolean }
  | { type: 'setWeight'; weight: number }
  | { type: 'analyse'; templateHash: string; stepIndex: number; weight: number; since: string }
  | { type: 'restoreStableTemplate'; templateHash: string; template: JsonValue }
  | { type: 'promoteStable'; templateHash: string }
  | { type: 'repauseStable' }
  | { type: 'deleteCanary' }
  | { type: 'cleanupRoute' }
  | { type: 'releaseDeployment' }
  | { type: 'callHook'; hook: HookName; callId: string; release: HookReleaseContext }
  | { type: 'recordEvent'; eventType: EventType; reason: string; message: string }
  | { type: 'ackOperation'; id: string };

export type ActionType = Action['type'];

export interface Decision {
  next: ReleaseState;
  actions: Action[];
}
