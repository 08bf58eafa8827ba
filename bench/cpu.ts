// CPU time of the processes taking part in a measurement, so that every figure comes with what
// each process spent: on 2 cores, the busiest process (or the sum) shows what limits it.
import { readFileSync } from 'node:fs';

/** Linux reports CPU times in clock ticks of 1/100 s (USER_HZ, fixed by the kernel ABI). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far (this process, or any via /proc). */
export function cpuSeconds(pid: number): number {
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Runs `work` and reports each named process's CPU use over it, in % of one core. */
export async function withCpu<T>(processes: Record<string, number>, work: () => Promise<T>): Promise<{ result: T; seconds: number; cpuPercent: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  const cpuPercent = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, (100 * (cpuSeconds(pid) - before[name])) / seconds]));
  return { result, seconds, cpuPercent };
}
