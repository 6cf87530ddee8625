// Runs named benchmarks or drills one after another, each bounded by a deadline; on the deadline
// or Ctrl-C the cluster and every canaryd this run started are stopped.
import { killAllCanaryd } from './canaryd.ts';
import { stopCurrentCluster } from './cluster.ts';
import { type Flags, parseCli, say } from './common.ts';

export interface Task {
  name: string;
  describe: string;
  /** Default time bound, minutes (--timeout overrides); may grow with the task's flags. */
  timeoutMinutes: number | ((flags: Flags) => number);
  run(flags: Flags): Promise<{ ok: boolean }>;
}

/** --timeout MINUTES, else the task's default (which may depend on its flags). */
function timeoutOf(task: Task, flags: Flags): number {
  if (flags.timeout !== undefined) return Number(flags.timeout);
  return typeof task.timeoutMinutes === 'function' ? task.timeoutMinutes(flags) : task.timeoutMinutes;
}

async function cleanUp(): Promise<void> {
  await killAllCanaryd().catch(() => {});
  await stopCurrentCluster().catch(() => {});
}

export async function runTasks(kind: 'bench' | 'drill', tasks: Task[], argv: string[]): Promise<void> {
  const { names, flags } = parseCli(argv);
  if (flags.help || names.includes('help')) {
    console.log(`usage: npm run ${kind} -- [${tasks.map((t) => t.name).join('|')}|all] [--flags]`);
    for (const t of tasks) console.log(`  ${t.name.padEnd(22)} ${t.describe}`);
    return;
  }
  const selected = names.length === 0 || names.includes('all') ? tasks : tasks.filter((t) => names.includes(t.name));
  const unknown = names.filter((n) => n !== 'all' && !tasks.some((t) => t.name === n));
  if (unknown.length > 0) throw new Error(`unknown ${kind}: ${unknown.join(', ')} (try --help)`);
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    say('interrupted: stopping canaryd and the cluster');
    void cleanUp().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const verdicts: string[] = [];
  let failed = false;
  for (const task of selected) {
    const minutes = timeoutOf(task, flags);
    say(`=== ${kind} ${task.name}: ${task.describe} (bounded to ${minutes} min)`);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`deadline of ${minutes} min reached`)), minutes * 60_000);
    });
    try {
      const { ok } = await Promise.race([task.run(flags), deadline]);
      verdicts.push(`${task.name}: ${ok ? 'PASS' : 'FAIL'}`);
      if (!ok) failed = true;
    } catch (error) {
      failed = true;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      say(`${task.name} did not finish: ${message}`);
      verdicts.push(`${task.name}: ERROR (${error instanceof Error ? error.message : String(error)})`);
    } finally {
      clearTimeout(timer);
      await cleanUp();
    }
  }
  say(`=== ${kind} summary`);
  for (const v of verdicts) console.log(`  ${v}`);
  process.exitCode = failed ? 1 : 0;
}
