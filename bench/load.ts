/**
 * The load generator of `npm run bench:reads`, in a process of its own so that it does not take
 * the measured server's CPU in its event loop: autocannon against one route, each request on
 * a path drawn at random from a file (one path a line). Prints autocannon's result as JSON.
 *
 *   node --import tsx bench/load.ts '{"url":…,"pathsFile":…,"authorization":…,"connections":…,"seconds":…}'
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

interface LoadSettings {
  url: string;
  pathsFile: string;
  authorization: string;
  connections: number;
  seconds: number;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as LoadSettings;
const paths = readFileSync(settings.pathsFile, 'utf8').split('\n').filter(Boolean);

const result = await autocannon({
  url: settings.url,
  connections: settings.connections,
  duration: settings.seconds,
  headers: { authorization: settings.authorization },
  requests: [{ setupRequest: (request) => ({ ...request, path: paths[Math.floor(Math.random() * paths.length)]! }) }],
});
process.stdout.write(`${JSON.stringify(result)}\n`);
