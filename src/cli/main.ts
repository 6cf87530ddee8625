// kubectl-canary: a registry of subcommands. Other modules add theirs with registerCommand
// (status, pause, resume, promote, abort, retry, history, undo, list).
import { readFileSync } from 'node:fs';
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
  return [
    'usage: kubectl canary COMMAND [ARGS]',
    '',
    'commands:',
    ...list,
    '',
    "kubectl canary COMMAND --help shows a command's flags and exit codes; kubectl canary --version its version.",
    '',
  ].join('\n');
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    now: () => new Date(),
  };
}

/** The version of this package (package.json), for `kubectl canary --version`. */
export function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return manifest.version ?? 'unknown';
}

/** What `kubectl canary COMMAND --help` prints. */
export function commandHelp(name: string, command: Command): string {
  const more = command.help === undefined ? '' : `\n${command.help.trimEnd()}\n`;
  return `usage: ${command.usage}\n\n${name}: ${command.summary}\n${more}`;
}

/** `--help`/`-h` anywhere before a `--`. */
const asksForHelp = (args: string[]): boolean => {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
};

/** Runs one command line; returns the exit code (2 for usage errors). */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' && args[0] !== undefined ? commands.get(args[0]) : undefined;
    if (topic !== undefined) {
      io.stdout(commandHelp(args[0]!, topic));
      return 0;
    }
    (name === undefined ? io.stderr : io.stdout)(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    io.stdout(`kubectl-canary ${version()}\n`);
    return 0;
  }
  const command = commands.get(name);
  if (command === undefined) {
    io.stderr(`kubectl canary: unknown command ${JSON.stringify(name)}\n${usage()}`);
    return 2;
  }
  if (asksForHelp(args)) {
    io.stdout(commandHelp(name, command));
    return 0;
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
