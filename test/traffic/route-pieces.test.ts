import { describe, expect, it } from 'vitest';
import { nginxRoutePieces, replicaRatioRoutePieces } from '../../src/traffic/route-pieces.ts';

const complete = { canaryService: true, canaryIngresses: [true, true], pinned: true };

describe('nginxRoutePieces', () => {
  it('lets a step start only when the canary Service, every canary Ingress and the pin exist', () => {
    expect(nginxRoutePieces(complete).complete).toBe(true);
    expect(nginxRoutePieces({ ...complete, pinned: false }).complete).toBe(false);
    expect(nginxRoutePieces({ ...complete, canaryService: false }).complete).toBe(false);
    expect(nginxRoutePieces({ ...complete, canaryIngresses: [true, false] }).complete).toBe(false);
  });

  it('after promotion unpinned the Service, the canary Ingress and Service still ask for cleanup', () => {
    expect(nginxRoutePieces({ ...complete, pinned: false }).any).toBe(true);
  });

  it('any piece left behind asks for cleanup outside a step; nothing left asks for nothing', () => {
    const none = { canaryService: false, canaryIngresses: [false, false], pinned: false };
    expect(nginxRoutePieces(none).any).toBe(false);
    expect(nginxRoutePieces({ ...none, pinned: true }).any).toBe(true);
    expect(nginxRoutePieces({ ...none, canaryService: true }).any).toBe(true);
    expect(nginxRoutePieces({ ...none, canaryIngresses: [false, true] }).any).toBe(true);
  });
});

describe('replicaRatioRoutePieces', () => {
  const ready = { canaryDeployment: true, pinned: false, selectorRecorded: true, surged: false };

  it('lets a step start only when the canary exists, the Service is unpinned and its selector recorded', () => {
    expect(replicaRatioRoutePieces(ready).complete).toBe(true);
    expect(replicaRatioRoutePieces({ ...ready, selectorRecorded: false }).complete).toBe(false);
    expect(replicaRatioRoutePieces({ ...ready, pinned: true }).complete).toBe(false);
    expect(replicaRatioRoutePieces({ ...ready, canaryDeployment: false }).complete).toBe(false);
  });

  it('outside a step, a recorded selector or a surge left behind asks for cleanup', () => {
    const none = { canaryDeployment: false, pinned: false, selectorRecorded: false, surged: false };
    expect(replicaRatioRoutePieces(none).any).toBe(false);
    expect(replicaRatioRoutePieces({ ...none, selectorRecorded: true }).any).toBe(true);
    expect(replicaRatioRoutePieces({ ...none, surged: true }).any).toBe(true);
  });
});
