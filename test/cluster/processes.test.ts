// `npm run cluster -- down` stops every process recorded in the cluster's pids directory: the
// cluster's own (each leads its process group) and the canaryd `demo --keep` leaves running,
// which was started in the demo's group and has none of its own.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, reapRecorded } from '../../e2e/cluster/processes.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function recorded(name: string, detached: boolean): { stateDir: string; pid: number } {
  const stateDir = mkdtempSync(join(tmpdir(), 'canaryd-reap-'));
  dirs.push(stateDir);
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached, stdio: 'ignore' });
  child.unref();
  mkdirSync(join(stateDir, 'pids'));
  writeFileSync(join(stateDir, 'pids', `${name}.pid`), String(child.pid));
  return { stateDir, pid: child.pid as number };
}

describe('stopping the recorded processes', () => {
  it('stops a process without a group of its own (the demo’s canaryd) and says so', async () => {
    const { stateDir, pid } = recorded('canaryd', false);
    expect(isAlive(pid)).toBe(true);
    expect(await reapRecorded(stateDir, ['canaryd'])).toEqual(['canaryd']);
    expect(isAlive(pid)).toBe(false);
  });

  it('stops a process that leads its own group (the cluster’s)', async () => {
    const { stateDir, pid } = recorded('etcd', true);
    expect(await reapRecorded(stateDir)).toEqual(['etcd']);
    expect(isAlive(pid)).toBe(false);
  });
});
