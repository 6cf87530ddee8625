// What a command may touch, passed in so tests run commands in-process.
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The current time; a parameter so `plan` is testable. */
  now: () => Date;
}

export interface Command {
  summary: string;
  usage: string;
  /** More for `--help`: flags, exit codes. */
  help?: string;
  /** Returns the exit code: 0 success, 1 failure, 2 usage error. */
  run: (args: string[], io: CliIo) => Promise<number>;
}
