// Where the machine's cores go while canaryd works: the CPU of every process of the local
// cluster (kube-apiserver, etcd, kube-controller-manager, kwok, Traefik, …), sampled from /proc
// by the pid files the cluster keeps, so a slow step can be told apart from a starved machine.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleProcess } from './canaryd.ts';

/** Samples each cluster process; stop() gives { name: percent of a core } over the window. */
export function sampleClusterCpu(stateDir: string) {
  const pidDir = join(stateDir, 'pids');
  const samplers = readdirSync(pidDir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.pid'))
    .map((entry) => ({
      name: entry.name.slice(0, -'.pid'.length),
      sampler: sampleProcess(Number(readFileSync(join(pidDir, entry.name), 'utf8').trim())),
    }));
  return {
    stop(): Record<string, number> {
      const cpu: Record<string, number> = {};
      for (const { name, sampler } of samplers) {
        const percent = sampler.stop().cpuPercent;
        if (percent !== null) cpu[name] = percent;
      }
      return Object.fromEntries(Object.entries(cpu).sort(([, a], [, b]) => b - a));
    },
  };
}
