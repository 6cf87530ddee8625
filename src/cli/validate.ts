// kubectl canary validate FILE… — offline: every error of every file at once, exit 0/1.
import { parseArgs } from 'node:util';
import { formatPolicyError } from '../policy/errors.ts';
import { loadPolicyFiles } from '../policy/load.ts';
import type { Command } from './io.ts';

export const validateCommand: Command = {
  summary: 'check policy files offline and print every error',
  usage: 'kubectl canary validate FILE|DIR...',
  async run(args, io) {
    const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
    if (positionals.length === 0) {
      io.stderr(`usage: ${this.usage}\n`);
      return 2;
    }
    const load = await loadPolicyFiles(positionals);
    for (const warning of load.warnings) io.stderr(`${formatPolicyError(warning, 'warning')}\n`);
    for (const error of load.errors) io.stderr(`${formatPolicyError(error)}\n`);
    const policies = (n: number) => (n === 1 ? '1 policy' : `${n} policies`);
    if (load.errors.length > 0) {
      const errors = load.errors.length === 1 ? '1 error' : `${load.errors.length} errors`;
      io.stderr(`${errors}; ${policies(load.policies.length)} valid\n`);
      return 1;
    }
    if (load.policies.length === 0) {
      io.stderr('no policies found\n');
      return 1;
    }
    io.stdout(`${policies(load.policies.length)} valid\n`);
    return 0;
  },
};
