// Child processes of the local cluster: each runs in its own process group so that stopping it
// also stops anything it started, and its pid is recorded so a later run can reap leftovers.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export function startProcess(
  stateDir: string,
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): ManagedProcess {
  const logDir = join(stateDir, 'logs');
  const pidDir = join(stateDir, 'pids');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(pidDir, { recursive: true });
  const logFile = join(logDir, `${name}.log`);
  // Output goes straight to a file, not through a pipe: a process whose reader exits would die
  // of SIGPIPE on its next log line (Go programs do), and the cluster must outlive `cluster up`.
  const logFd = openSync(logFile, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', logFd, logFd], env });
  closeSync(logFd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  writeFileSync(join(pidDir, `${name}.pid`), String(child.pid));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // The cluster must not keep the test runner alive by itself; stop() ends it explicitly.
  child.unref();
  return { name, pid: child.pid, logFile, child, exited };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: no such process — that is the answer, not a failure.
    return false;
  }
}

/**
 * The process group (the cluster's processes lead their own), else the process alone: a process
 * started in its parent's group (the demo's canaryd, left running by --keep) has no group of its own.
 */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already: nothing left to signal.
    }
  }
}

/** SIGTERM the process group, then SIGKILL whatever is still there after the grace period. */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 50));
}

/** Stops every process whose pid file is in the state dir (leftovers of a crashed run included). */
export async function reapRecorded(stateDir: string, order: string[] = []): Promise<string[]> {
  const pidDir = join(stateDir, 'pids');
  if (!existsSync(pidDir)) return [];
  const names = readdirSync(pidDir)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => f.slice(0, -4));
  // Stop in the given order first (dependents before what they depend on), then the rest.
  names.sort((a, b) => rank(order, a) - rank(order, b));
  const stopped: string[] = [];
  for (const name of names) {
    const file = join(pidDir, `${name}.pid`);
    const pid = Number(readFileSync(file, 'utf8'));
    if (Number.isInteger(pid) && pid > 1 && isAlive(pid)) {
      await stopPid(pid);
      stopped.push(isAlive(pid) ? `${name} (still running, pid ${pid})` : name);
    }
    rmSync(file, { force: true });
  }
  return stopped;
}

const rank = (order: string[], name: string): number => {
  const i = order.indexOf(name);
  return i === -1 ? order.length : i;
};

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
