// kubectl-canary: a registry of subcommands. Other modules add theirs with registerCommand
// (status, pause, resume, promote, abort, retry, history, undo, list).
import { clusterCommands } from './commands/index.ts';
import type { CliIo, Command } from './io.ts';
import { planCommand } from './plan.ts';
import { validateCommand } from './validate.ts';

const commands = new Map<string, Command>();

export function registerCommand(name: string, command: Command): void {
  if (commands.has(name)) throw new Error(`kubectl canary: command ${name} registered twice`);
  commands.set(name, command);
}

registerCommand('validate', validateCommand);
registerCommand('plan', planCommand);
for (const [name, command] of Object.entries(clusterCommands())) registerCommand(name, command);

export function usage(): string {
  const width = Math.max(...[...commands.keys()].map((name) => name.length));
  const list = [...commands.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return ['usage: kubectl canary COMMAND [ARGS]', '', 'commands:', ...list, ''].join('\n');
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    now: () => new Date(),
  };
}

/** Runs one command line; returns the exit code (2 for usage errors). */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout)(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands.get(name);
  if (command === undefined) {
    io.stderr(`kubectl canary: unknown command ${JSON.stringify(name)}\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    // parseArgs throws on unknown options: a usage error, not a crash.
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`kubectl canary ${name}: ${(error as Error).message}\nusage: ${command.usage}\n`);
      return 2;
    }
    throw error;
  }
}
