/**
 * What the benchmarks of issue 10 (reads, officer's answer, scale) share: their settings from the
 * environment, the machine's description, percentiles, and writing their own section of
 * bench/RESULTS.md between its markers (nothing else in the file changes).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export const RESULTS_PATH = fileURLToPath(new URL('./RESULTS.md', import.meta.url));

export function envInt(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name}=${value} is not a positive integer`);
  return n;
}

export function machineLines(extra: string[] = []): string[] {
  const cpus = os.cpus();
  return [
    `- Date: ${new Date().toISOString()}`,
    `- CPUs: ${os.availableParallelism()} (nproc), ${cpus[0]?.model.trim() ?? 'unknown model'}; memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${os.type()} ${os.release()} ${os.arch()}; Node.js ${process.version}`,
    ...extra,
    `- Load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(', ')} (other processes share the CPUs)`,
  ];
}

/** The q-quantile (0…1) of `xs` by nearest rank. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const met = (ok: boolean) => (ok ? 'met' : '**MISSED**');

/** Replaces the section `name` (markers included) in bench/RESULTS.md, or appends it. */
export function writeSection(name: string, lines: string[]): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const body = [start, ...lines, end].join('\n');
  const current = existsSync(RESULTS_PATH) ? readFileSync(RESULTS_PATH, 'utf8') : '# Benchmark results\n\n';
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  writeFileSync(
    RESULTS_PATH,
    from >= 0 && to > from ? `${current.slice(0, from)}${body}${current.slice(to + end.length)}` : `${current.trimEnd()}\n\n${body}\n`,
  );
}
