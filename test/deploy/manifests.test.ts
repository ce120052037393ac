/**
 * What `deploy/` ships: the Kubernetes manifests validate against the Kubernetes schemas
 * (`kubernetes-validate --strict`, from PyPI, offline) and say what the code expects (every
 * setting one config.ts reads and accepts, the probes on the routes and ports the processes
 * serve); the Grafana dashboard is valid JSON with its datasource as a variable.
 *
 * `.ci/run` installs kubernetes-validate into `.tools/py`; where it is missing the test installs
 * it, and skips (saying why) only when that is impossible outside CI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, WORKER_METRICS_ADDRESS_PATTERN } from '../../config';
import { PROJECT_ROOT } from '../../tools/project-paths';

/** The version .ci/run installs. */
const KUBERNETES_VALIDATE_VERSION = '1.37.0';
const TARGET = path.join(PROJECT_ROOT, '.tools', 'py');
const env = { ...process.env, PYTHONPATH: TARGET, PYTHONDONTWRITEBYTECODE: '1', NO_COLOR: '1' };
const KUBERNETES_DIR = path.join(PROJECT_ROOT, 'deploy', 'kubernetes');
const DASHBOARD = path.join(PROJECT_ROOT, 'deploy', 'grafana', 'collection-cases.json');

function validatorVersion(): string | undefined {
  const res = spawnSync('python3', ['-m', 'kubernetes_validate', '--version'], { env, encoding: 'utf8', timeout: 60_000 });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

function ensureValidator(): { ok: true; version: string } | { ok: false; why: string } {
  let version = existsSync(path.join(TARGET, 'kubernetes_validate')) ? validatorVersion() : undefined;
  if (version) return { ok: true, version };
  const install = spawnSync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', TARGET, `kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}`],
    { encoding: 'utf8', timeout: 300_000 },
  );
  version = validatorVersion();
  if (version) return { ok: true, version };
  return { ok: false, why: `pip install kubernetes-validate into .tools/py failed: ${(install.stderr || install.error?.message || '').trim().slice(-500)}` };
}

const tool = ensureValidator();
if (!tool.ok && process.env.CI) throw new Error(`kubernetes-validate must run in CI: ${tool.why}`);
if (!tool.ok) console.warn(`Skipping the Kubernetes manifest checks: ${tool.why}`);

/** Every YAML file under deploy/kubernetes, templates and variants included. */
function manifestFiles(dir = KUBERNETES_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return manifestFiles(full);
      return /\.ya?ml$/.test(entry.name) ? [full] : [];
    })
    .sort();
}

type Resource = { file: string; apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [key: string]: any };

/** The documents of every manifest, parsed by PyYAML (kubernetes-validate's own dependency). */
function loadResources(files: string[]): Resource[] {
  const script = [
    'import json, sys, yaml',
    'out = []',
    'for f in sys.argv[1:]:',
    '    for d in yaml.safe_load_all(open(f)):',
    '        if d is not None:',
    '            d["file"] = f',
    '            out.append(d)',
    'print(json.dumps(out))',
  ].join('\n');
  const res = spawnSync('python3', ['-c', script, ...files], { env, encoding: 'utf8', timeout: 60_000 });
  if (res.status !== 0) throw new Error(`parsing the manifests failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as Resource[];
}

describe.skipIf(!tool.ok)('the Kubernetes manifests', () => {
  const files = manifestFiles();
  const resources = tool.ok ? loadResources(files) : [];
  const find = (kind: string, name: string) => {
    const found = resources.filter((r) => r.kind === kind && r.metadata.name === name);
    expect(found.length, `${kind}/${name}`).toBeGreaterThan(0);
    return found;
  };
  const container = (deployment: string) => find('Deployment', deployment)[0]!.spec.template.spec.containers[0];

  it('validate strictly against the Kubernetes schemas', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
    const res = spawnSync('python3', ['-m', 'kubernetes_validate', '--strict', '--quiet', ...files], { env, encoding: 'utf8', timeout: 120_000 });
    expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
  });

  it('run the API and the worker apart, each non-root on a read-only root file system, with resources and probes', () => {
    for (const name of ['collection-cases-api', 'collection-cases-worker']) {
      const [deployment] = find('Deployment', name);
      const pod = deployment!.spec.template.spec;
      expect(deployment!.spec.replicas, name).toBeGreaterThanOrEqual(2);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      const c = pod.containers[0];
      expect(c.securityContext, name).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(c.resources.requests, name).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
      expect(c.resources.limits.memory, name).toBeDefined();
      expect(c.envFrom).toEqual([{ configMapRef: { name: 'collection-cases-config' } }, { secretRef: { name: 'collection-cases' } }]);
      // The image's entry points (Dockerfile, package.json's scripts).
      expect(existsSync(path.join(PROJECT_ROOT, c.command.at(-1))), name).toBe(true);
      // A PodDisruptionBudget selecting the same pods.
      const [pdb] = find('PodDisruptionBudget', name);
      expect(pdb!.spec.selector.matchLabels).toEqual(deployment!.spec.selector.matchLabels);
    }

    const api = container('collection-cases-api');
    expect(api.command).toEqual(['node', '--import', 'tsx', 'server.ts']);
    const apiPort = api.ports.find((p: { name: string }) => p.name === 'http').containerPort;
    expect(api.env).toEqual(expect.arrayContaining([{ name: 'HOST', value: '0.0.0.0' }, { name: 'PORT', value: String(apiPort) }]));
    expect(api.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(api.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    const [service] = find('Service', 'collection-cases-api');
    expect(service!.spec.selector).toEqual(find('Deployment', 'collection-cases-api')[0]!.spec.selector.matchLabels);

    const worker = container('collection-cases-worker');
    expect(worker.command).toEqual(['node', '--import', 'tsx', 'worker.ts']);
    const address = worker.env.find((e: { name: string }) => e.name === 'WORKER_METRICS_ADDRESS').value as string;
    expect(address).toMatch(new RegExp(WORKER_METRICS_ADDRESS_PATTERN));
    const metricsPort = worker.ports.find((p: { name: string }) => p.name === 'metrics').containerPort;
    expect(address.endsWith(`:${metricsPort}`)).toBe(true);
    expect(worker.livenessProbe.httpGet).toEqual({ path: '/metrics', port: 'metrics' });
  });

  it('configure only settings config.ts reads, with values it accepts, for Temporal in the cluster and on Temporal Cloud', () => {
    const configSource = readFileSync(path.join(PROJECT_ROOT, 'config.ts'), 'utf8');
    const configMaps = find('ConfigMap', 'collection-cases-config');
    expect(configMaps.map((c) => path.relative(KUBERNETES_DIR, c.file)).sort()).toEqual(['self-hosted/configmap.yaml', 'temporal-cloud/configmap.yaml']);
    // The runtime Secret's template names every key production requires: with valid values for
    // its keys (and nothing else), each ConfigMap's settings load.
    const [runtime] = find('Secret', 'collection-cases');
    const valid: Record<string, string> = {
      DATABASE_URL: 'postgres://collection_app_login:x@db:5432/collection_cases',
      JWT_SECRET: 'j'.repeat(32),
      HOUSEHOLD_KEY: 'h'.repeat(32),
      PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    };
    const secrets = Object.fromEntries(Object.keys(runtime!.stringData).map((key) => [key, valid[key] ?? runtime!.stringData[key]]));
    for (const { data, file } of configMaps) {
      for (const key of Object.keys(data)) expect(configSource, `${file}: ${key}`).toMatch(new RegExp(`^  ${key}: Type\\.`, 'm'));
      expect(() => loadConfig({ ...data, ...secrets }), file).not.toThrow();
    }
    const cloud = configMaps.find((c) => c.file.includes('temporal-cloud'))!.data;
    expect(cloud.TEMPORAL_ADDRESS).toMatch(/\.tmprl\.cloud:7233$/);

    // The Secret template: the runtime's keys are config.ts's; the migration's is apart.
    for (const key of Object.keys(runtime!.stringData)) expect(configSource, key).toMatch(new RegExp(`^  ${key}: Type\\.`, 'm'));
    const [migration] = find('Secret', 'collection-cases-migration');
    expect(Object.keys(migration!.stringData)).toEqual(['DATABASE_MIGRATION_URL']);
    // The template's placeholders are refused at start, so a template applied by mistake runs nothing.
    expect(() => loadConfig({ ...configMaps[0]!.data, ...runtime!.stringData })).toThrow(/JWT_SECRET|HOUSEHOLD_KEY/);
    expect(() => loadConfig({ ...configMaps[0]!.data, ...secrets, JWT_SECRET: runtime!.stringData.JWT_SECRET })).toThrow(/JWT_SECRET/);
    expect(() => loadConfig({ ...configMaps[0]!.data, ...secrets, HOUSEHOLD_KEY: runtime!.stringData.HOUSEHOLD_KEY })).toThrow(/HOUSEHOLD_KEY/);

    // mTLS: the Secret both Deployments mount where TEMPORAL_TLS_*_PATH point.
    const [tls] = find('Secret', 'collection-cases-temporal-tls');
    expect(tls!.type).toBe('kubernetes.io/tls');
    const cloudFile = readFileSync(path.join(KUBERNETES_DIR, 'temporal-cloud', 'configmap.yaml'), 'utf8');
    for (const name of ['collection-cases-api', 'collection-cases-worker']) {
      const pod = find('Deployment', name)[0]!.spec.template.spec;
      const volume = pod.volumes.find((v: { secret?: { secretName: string } }) => v.secret?.secretName === 'collection-cases-temporal-tls');
      expect(volume.secret.optional, name).toBe(true);
      const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === volume.name);
      for (const key of ['tls.crt', 'tls.key']) expect(cloudFile).toContain(`${mount.mountPath}/${key}`);
    }
  });

  it('migrate with a Job running `npm run db:migrate` as the owner', () => {
    const packageJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
    expect(packageJson.scripts['db:migrate']).toBeDefined();
    const [job] = find('Job', 'collection-cases-db-migrate');
    const c = job!.spec.template.spec.containers[0];
    expect(c.command).toEqual(['npm', 'run', 'db:migrate']);
    expect(c.env.find((e: { name: string }) => e.name === 'DATABASE_MIGRATION_URL').valueFrom.secretKeyRef).toEqual({
      name: 'collection-cases-migration',
      key: 'DATABASE_MIGRATION_URL',
    });
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    // One image for all three.
    expect(new Set([c.image, container('collection-cases-api').image, container('collection-cases-worker').image]).size).toBe(1);
  });
});

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as any;
  const panels = (dashboard.panels as any[]).filter((p) => p.type !== 'row');

  it('is valid JSON with its Prometheus datasource as a variable', () => {
    expect(dashboard.uid).toBe('collection-cases');
    expect(dashboard.templating.list.find((v: { name: string }) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(panels.length).toBeGreaterThan(10);
    const ids = (dashboard.panels as { id: number }[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        expect(target.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(target.expr, panel.title).toMatch(/\b(collection_cases|temporal|process|nodejs)_[a-z_]+/);
        // Balanced parentheses and braces: a cheap guard against a broken expression.
        for (const [open, close] of [['(', ')'], ['{', '}'], ['[', ']']]) {
          expect(target.expr.split(open!).length, `${panel.title}: ${target.expr}`).toBe(target.expr.split(close!).length);
        }
      }
    }
  });

  it('shows requests, latency, 5xx, the ledger, the outbox, incidents and the worker\'s slots, schedule-to-start and sticky cache', () => {
    const exprs = panels.flatMap((p) => p.targets.map((t: { expr: string }) => t.expr)).join('\n');
    for (const metric of [
      'collection_cases_http_requests_total',
      'collection_cases_http_request_duration_seconds_bucket',
      'status_code=~"5.."',
      'collection_cases_ledger_cases',
      'collection_cases_outbox_notifications',
      'collection_cases_projection_incidents_open',
      'collection_cases_ledger_up',
      'temporal_worker_task_slots_used',
      'temporal_workflow_task_schedule_to_start_latency_seconds_bucket',
      'temporal_activity_schedule_to_start_latency_seconds_bucket',
      'temporal_sticky_cache_size',
    ]) {
      expect(exprs).toContain(metric);
    }
  });
});
