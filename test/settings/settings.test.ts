// canaryd's flags and environment variables: what an SRE types reaches the controller, and a
// mistake stops the start with a message that names the setting.
import { describe, expect, it } from 'vitest';
import { loadSettings, SettingsError } from '../../src/settings/settings.ts';

describe('controller settings', () => {
  it('defaults to 16 workers and leaves the wake-up reserve to the queue (a quarter of them)', () => {
    const settings = loadSettings([], {});
    expect(settings.concurrency).toBe(16);
    expect(settings.wakeWorkers).toBeUndefined();
  });

  it('reads --wake-workers and CANARYD_WAKE_WORKERS, the flag over the variable; 0 is allowed', () => {
    expect(loadSettings(['--wake-workers', '0'], {}).wakeWorkers).toBe(0);
    expect(loadSettings([], { CANARYD_WAKE_WORKERS: '8' }).wakeWorkers).toBe(8);
    expect(loadSettings(['--wake-workers', '2'], { CANARYD_WAKE_WORKERS: '8' }).wakeWorkers).toBe(2);
  });

  it('refuses a wake-up reserve that is not a whole number from 0 to 64, naming it', () => {
    for (const bad of ['-1', '1.5', 'four', '65']) {
      expect(() => loadSettings(['--wake-workers', bad], {})).toThrow(SettingsError);
    }
    expect(() => loadSettings(['--wake-workers', 'four'], {})).toThrow(
      '--wake-workers (CANARYD_WAKE_WORKERS) "four": Invalid input: expected number, received string',
    );
    expect(() => loadSettings([], { CANARYD_WAKE_WORKERS: '-1' })).toThrow(
      /--wake-workers \(CANARYD_WAKE_WORKERS\) "-1": .*>=0/,
    );
  });

  it('names a bad setting as the flag and the variable it is set by, with the value given', () => {
    expect(() => loadSettings(['--listen', 'localhost'], {})).toThrow(
      '--listen (CANARYD_LISTEN) "localhost": expected HOST:PORT, e.g. 0.0.0.0:8080',
    );
    expect(() => loadSettings([], { CANARYD_RESYNC: 'often' })).toThrow(/--resync \(CANARYD_RESYNC\) "often": /);
    expect(() => loadSettings(['--concurrency', '0'], {})).toThrow(/--concurrency \(CANARYD_CONCURRENCY\) "0": /);
  });

  it('names the flags it knows when one is misspelt', () => {
    expect(() => loadSettings(['--wake-worker', '2'], {})).toThrow(/--wake-workers/);
  });
});
