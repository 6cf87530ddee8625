// Every subcommand answers --help (exit 0, usage on stdout) without touching a cluster or a file;
// `kubectl canary --version` prints the package version.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    now: () => new Date('2026-03-27T15:00:00Z'),
  });
  return { code, stdout, stderr };
}

const SUBCOMMANDS = [
  'validate',
  'plan',
  'list',
  'status',
  'history',
  'pause',
  'resume',
  'promote',
  'abort',
  'retry',
  'undo',
  'approve',
];

describe('kubectl canary --help', () => {
  it('the command list names every subcommand and how to get more help', async () => {
    const result = await run('--help');
    expect(result.code).toBe(0);
    for (const name of SUBCOMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(result.stdout).toContain('kubectl canary COMMAND --help');
  });

  it.each(
    SUBCOMMANDS.flatMap((name) => [
      [name, '--help'],
      [name, '-h'],
    ]),
  )('%s %s exits 0 with its usage on stdout', async (name, flag) => {
    // Missing arguments and a bogus flag do not matter: help wins, before any parsing.
    const result = await run(name, flag, '--bogus');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`^usage: kubectl canary ${name}\\b`));
    expect(result.stdout).toContain(`${name}: `);
  });

  it('kubectl canary help COMMAND is the same as COMMAND --help', async () => {
    expect(await run('help', 'promote')).toEqual(await run('promote', '--help'));
  });

  it('status --help documents every exit code a CI job can see', async () => {
    const { stdout } = await run('status', '--help');
    for (const line of [
      /^ {2}0 {2}promoted/m,
      /^ {2}1 {2}rolled back/m,
      /^ {2}2 {2}usage error/m,
      /^ {2}3 {2}paused until a person acts/m,
      /^ {2}4 {2}--watch --timeout elapsed/m,
    ]) {
      expect(stdout).toMatch(line);
    }
  });

  it('cluster commands describe the kubectl flags they share; promote says it advances one step', async () => {
    const { stdout } = await run('promote', '--help');
    expect(stdout).toContain('-n, --namespace NS');
    expect(stdout).toContain('--kubeconfig FILE');
    expect(stdout).toContain('one step');
    expect(stdout).toContain('--full');
  });

  it('an argument after -- is not a request for help', async () => {
    const result = await run('validate', '--', '--help');
    expect(result.code).not.toBe(0);
  });
});

describe('kubectl canary --version', () => {
  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(await run('--version')).toEqual({ code: 0, stdout: `kubectl-canary ${version}\n`, stderr: '' });
  });
});
