import { describe, expect, it } from 'vitest';
import { nginxRoutePrepared, replicaRatioRoutePrepared } from '../../src/controller/observe.ts';

const complete = { canaryService: true, canaryIngresses: [true, true], pinned: true };

describe('nginxRoutePrepared', () => {
  it('lets a step start only when the canary Service, every canary Ingress and the pin exist', () => {
    expect(nginxRoutePrepared(complete, true)).toBe(true);
    expect(nginxRoutePrepared({ ...complete, pinned: false }, true)).toBe(false);
    expect(nginxRoutePrepared({ ...complete, canaryService: false }, true)).toBe(false);
    expect(nginxRoutePrepared({ ...complete, canaryIngresses: [true, false] }, true)).toBe(false);
  });

  it('after promotion unpinned the Service, the canary Ingress and Service still ask for cleanup', () => {
    expect(nginxRoutePrepared({ ...complete, pinned: false }, false)).toBe(true);
  });

  it('any piece left behind asks for cleanup outside a step; nothing left asks for nothing', () => {
    const none = { canaryService: false, canaryIngresses: [false, false], pinned: false };
    expect(nginxRoutePrepared(none, false)).toBe(false);
    expect(nginxRoutePrepared({ ...none, pinned: true }, false)).toBe(true);
    expect(nginxRoutePrepared({ ...none, canaryService: true }, false)).toBe(true);
    expect(nginxRoutePrepared({ ...none, canaryIngresses: [false, true] }, false)).toBe(true);
  });
});

describe('replicaRatioRoutePrepared', () => {
  const ready = { canaryDeployment: true, pinned: false, selectorRecorded: true, surged: false };

  it('lets a step start only when the canary exists, the Service is unpinned and its selector recorded', () => {
    expect(replicaRatioRoutePrepared(ready, true)).toBe(true);
    expect(replicaRatioRoutePrepared({ ...ready, selectorRecorded: false }, true)).toBe(false);
    expect(replicaRatioRoutePrepared({ ...ready, pinned: true }, true)).toBe(false);
    expect(replicaRatioRoutePrepared({ ...ready, canaryDeployment: false }, true)).toBe(false);
  });

  it('outside a step, a recorded selector or a surge left behind asks for cleanup', () => {
    const none = { canaryDeployment: false, pinned: false, selectorRecorded: false, surged: false };
    expect(replicaRatioRoutePrepared(none, false)).toBe(false);
    expect(replicaRatioRoutePrepared({ ...none, selectorRecorded: true }, false)).toBe(true);
    expect(replicaRatioRoutePrepared({ ...none, surged: true }, false)).toBe(true);
  });
});
