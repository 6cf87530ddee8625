import { describe, expect, it } from 'vitest';
import { nginxRoutePrepared } from '../../src/controller/observe.ts';

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
