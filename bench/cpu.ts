/**
 * Where a machine's CPU time went over a window, from /proc (Linux only): the whole machine's
 * busy share, and the CPU seconds of the processes in each named group. A benchmark prints it
 * beside a throughput figure so that a reader can tell whether a second worker had CPU to use.
 */
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export interface CpuGroups {
  /** Processes whose command name (`/proc/<pid>/comm`) is one of these. */
  commands?: Record<string, string>;
  /** Processes by pid. */
  pids?: Record<string, number[]>;
}

export interface CpuSample {
  busy: number;
  total: number;
  /** Ticks by group, then by pid: a process that ends between two samples takes its ticks with
   * it, so a window counts only what each process present at its end spent during it. */
  byGroup: Record<string, Map<number, number>>;
}

export interface CpuUse {
  cores: number;
  /** Share of all cores' time that was busy, 0–1. */
  busy: number;
  /** CPU seconds per group over the window. */
  seconds: Record<string, number>;
}

/** Undefined where /proc is missing (not Linux): the figure is then left out. */
export function sampleCpu(groups: CpuGroups): CpuSample | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  // cpu  user nice system idle iowait irq softirq steal …
  const fields = stat.split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3]! + (fields[4] ?? 0);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const byGroup: Record<string, Map<number, number>> = {};
  const add = (group: string, pid: number) => (byGroup[group] ??= new Map()).set(pid, processTicks(pid));
  for (const [group, pids] of Object.entries(groups.pids ?? {})) for (const pid of pids) add(group, pid);
  const commands = groups.commands ?? {};
  if (Object.keys(commands).length > 0) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const group = commands[readOr(`/proc/${entry}/comm`).trim()];
      if (group) add(group, Number(entry));
    }
  }
  return { busy: total - idle, total, byGroup };
}

export function cpuBetween(before: CpuSample | undefined, after: CpuSample | undefined, cores: number): CpuUse | undefined {
  if (!before || !after) return undefined;
  const seconds: Record<string, number> = {};
  for (const [group, pids] of Object.entries(after.byGroup)) {
    let ticks = 0;
    for (const [pid, now] of pids) ticks += now - (before.byGroup[group]?.get(pid) ?? 0);
    seconds[group] = ticks / TICKS_PER_SECOND;
  }
  return { cores, busy: (after.busy - before.busy) / Math.max(1, after.total - before.total), seconds };
}

/** utime + stime of a process, all its threads; 0 once it has gone. */
function processTicks(pid: number): number {
  const stat = readOr(`/proc/${pid}/stat`);
  if (!stat) return 0;
  // The command name may hold spaces: fields count from the closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
