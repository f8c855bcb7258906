// Structure checks for what cannot be run here: the Dockerfile (no Docker engine in CI) and the Kubernetes
// manifests (no cluster). They catch the mistakes that break a deploy silently: a label selector that matches
// nothing, a probe on the wrong port, an HPA metric the adapter never exposes or the server never exports, a grace
// period shorter than the drain, a root user, dev dependencies in the image.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ServerMetrics } from '../server/metrics.js';
import { REPO_ROOT } from './helpers/fixtures.js';

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerInstructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

describe('Dockerfile', () => {
  const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const all = dockerInstructions(text);
  const stages: { name: string; base: string; body: Instruction[] }[] = [];
  const globalArgs = new Set<string>();
  for (const ins of all) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)\s+AS\s+(\S+)$/i.exec(ins.args);
      assert.ok(m, `every stage is named: FROM ${ins.args}`);
      stages.push({ base: m[1]!, name: m[2]!, body: [] });
    } else if (stages.length === 0) {
      if (ins.op === 'ARG') globalArgs.add(ins.args.split('=')[0]!);
    } else {
      stages.at(-1)!.body.push(ins);
    }
  }
  const runtime = stages.at(-1)!;
  const runs = (stage: { body: Instruction[] }): string =>
    stage.body
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join('\n');

  it('is multi-stage: build, production dependencies, runtime; COPY --from names earlier stages', () => {
    assert.ok(stages.length >= 3, `${stages.length} stages`);
    stages.forEach((stage, i) => {
      for (const copy of stage.body.filter((c) => c.op === 'COPY' && c.args.includes('--from='))) {
        const from = /--from=(\S+)/.exec(copy.args)![1]!;
        assert.ok(
          stages.slice(0, i).some((s) => s.name === from),
          `${stage.name} copies from earlier stage ${from}`,
        );
      }
    });
    assert.match(runs(stages.find((s) => s.name === 'build')!), /npx tsc/);
    assert.ok(
      runtime.body.some((i) => i.op === 'COPY' && /--from=build\s+\S*dist/.test(i.args)),
      'runtime takes dist/ from the build stage',
    );
  });

  it('installs production dependencies with npm ci --omit=dev, and the runtime never runs npm ci with dev dependencies', () => {
    const deps = stages.find((s) => /npm ci --omit=dev/.test(runs(s)));
    assert.ok(deps, 'a stage runs npm ci --omit=dev');
    assert.ok(
      runtime.body.some(
        (i) => i.op === 'COPY' && i.args.includes(`--from=${deps.name}`) && i.args.includes('node_modules'),
      ),
    );
    assert.doesNotMatch(runs(runtime), /npm (ci|install)/);
  });

  it('is CPU by default, with build arguments for a CUDA base image and ONNXRUNTIME_NODE_INSTALL=cuda12', () => {
    assert.ok(globalArgs.has('RUNTIME_BASE'), 'ARG RUNTIME_BASE before the first FROM');
    assert.match(runtime.base, /\$\{?RUNTIME_BASE\}?/);
    assert.match(text, /ARG NODE_IMAGE=node:20[\w.-]*/);
    assert.match(text, /ARG RUNTIME_BASE=\$\{NODE_IMAGE\}/, 'the runtime base defaults to the plain Node (CPU) image');
    assert.match(text, /ARG ONNXRUNTIME_NODE_INSTALL=skip/);
    assert.match(
      runs(stages.find((s) => s.name === 'deps')!),
      /ONNXRUNTIME_NODE_INSTALL.*onnxruntime-node\/script\/install/s,
    );
    assert.match(text, /nvidia\/cuda:12[^\s]*cudnn/);
    assert.match(text, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });

  it('runs as a non-root user, mounts the model folder as a volume, checks /health, serves on 8000', () => {
    const user = runtime.body.filter((i) => i.op === 'USER').at(-1)?.args;
    assert.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `USER ${user}`);
    const volume = runtime.body.find((i) => i.op === 'VOLUME')?.args ?? '';
    assert.match(volume, /"\/models"/);
    assert.match(volume, /"\/cache"/);
    const health = runtime.body.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    assert.match(health, /\/health/);
    assert.match(health, /CMD/);
    assert.ok(runtime.body.some((i) => i.op === 'EXPOSE' && i.args === '8000'));
    assert.match(runtime.body.find((i) => i.op === 'ENV')?.args ?? '', /HOST=0\.0\.0\.0/);
    assert.match(runtime.body.find((i) => i.op === 'ENTRYPOINT')?.args ?? '', /bin\/latentserve\.js/);
    assert.match(runtime.body.find((i) => i.op === 'CMD')?.args ?? '', /"serve", "--model", "\/models"/);
  });

  it('.dockerignore keeps local builds, dependencies, tests and weights out of the context', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.git', 'tests', '*.onnx', '*.safetensors'])
      assert.ok(ignored.includes(entry), entry);
    for (const needed of ['package.json', 'package-lock.json', 'bin', 'server', 'tsconfig.json'])
      assert.ok(!ignored.includes(needed), needed);
  });
});

type Doc = Record<string, any>;

describe('Kubernetes manifests', () => {
  const dir = join(REPO_ROOT, 'deploy', 'kubernetes');
  const load = (file: string): Doc[] =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], `${file} parses`);
      return d.toJS() as Doc;
    });
  const kustomization = load('kustomization.yaml')[0]!;
  const resources = (kustomization['resources'] as string[]).flatMap((f) => {
    assert.ok(existsSync(join(dir, f)), `${f} exists`);
    return load(f);
  });
  const byKind = (kind: string): Doc => {
    const found = resources.filter((r) => r['kind'] === kind);
    assert.equal(found.length, 1, `one ${kind}`);
    return found[0]!;
  };
  const deployment = byKind('Deployment');
  const pod = deployment['spec']['template'];
  const container = pod['spec']['containers'][0];
  const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
  const argValue = (flag: string): string | undefined => {
    const args = container['args'] as string[];
    const i = args.indexOf(flag);
    return i < 0 ? undefined : args[i + 1];
  };

  it('every resource has apiVersion, kind and a name', () => {
    for (const r of resources) {
      assert.equal(typeof r['apiVersion'], 'string');
      assert.equal(typeof r['kind'], 'string');
      assert.equal(typeof r['metadata']?.['name'], 'string');
    }
  });

  it('Deployment: selector matches its pods, /health probes on the serving port, resource requests, non-root', () => {
    assert.equal(deployment['apiVersion'], 'apps/v1');
    assert.ok(matches(deployment['spec']['selector']['matchLabels'], pod['metadata']['labels']));
    const port = (container['ports'] as Doc[]).find((p) => p['name'] === 'http')!;
    assert.equal(port['containerPort'], 8000);
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      const get = container[probe]?.['httpGet'];
      assert.equal(get?.['path'], '/health', probe);
      assert.ok(get['port'] === 'http' || get['port'] === 8000, probe);
    }
    assert.ok(
      container['resources']['requests']['cpu'] !== undefined &&
        container['resources']['requests']['memory'] !== undefined,
    );
    assert.equal(pod['spec']['securityContext']['runAsNonRoot'], true);
    assert.equal(container['args'][0], 'serve');
    assert.equal(pod['metadata']['annotations']['prometheus.io/port'], String(port['containerPort']));
    assert.equal(pod['metadata']['annotations']['prometheus.io/path'], '/metrics');
  });

  it('Deployment: the grace period covers preStop plus the drain, and liveness outlasts the drain', () => {
    const drainS = Number(argValue('--drain-timeout'));
    assert.ok(drainS > 0);
    const preStop = container['lifecycle']?.['preStop']?.['exec']?.['command'] as string[] | undefined;
    const preStopS = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
    assert.ok(
      pod['spec']['terminationGracePeriodSeconds'] >= preStopS + drainS + 5,
      'terminationGracePeriodSeconds ≥ preStop + drain + 5 s',
    );
    const liveness = container['livenessProbe'];
    assert.ok(
      liveness['periodSeconds'] * liveness['failureThreshold'] > drainS,
      'a draining pod is not killed by its liveness probe',
    );
  });

  it('Deployment: API keys from a Secret, model folder read-only at /models, cache writable', () => {
    const key = (container['env'] as Doc[]).find((e) => e['name'] === 'LATENTSERVE_API_KEY');
    assert.ok(key?.['valueFrom']?.['secretKeyRef']?.['name'], 'LATENTSERVE_API_KEY comes from a Secret');
    assert.equal(argValue('--model'), '/models');
    const mounts = container['volumeMounts'] as Doc[];
    assert.equal(mounts.find((m) => m['mountPath'] === '/models')?.['readOnly'], true);
    assert.ok(mounts.some((m) => m['mountPath'] === '/cache'));
    const volumes = new Set((pod['spec']['volumes'] as Doc[]).map((v) => v['name']));
    for (const m of mounts) assert.ok(volumes.has(m['name']), `volume ${m['name']} is defined`);
    const claim = (pod['spec']['volumes'] as Doc[]).find((v) => v['persistentVolumeClaim'])?.['persistentVolumeClaim'][
      'claimName'
    ];
    assert.ok(resources.some((r) => r['kind'] === 'PersistentVolumeClaim' && r['metadata']['name'] === claim));
  });

  it("Service selects the Deployment's pods and targets the serving port", () => {
    const service = byKind('Service');
    assert.ok(matches(service['spec']['selector'], pod['metadata']['labels']));
    const ports = (container['ports'] as Doc[]).map((p) => [p['name'], p['containerPort']]).flat();
    for (const p of service['spec']['ports'] as Doc[])
      assert.ok(ports.includes(p['targetPort']), `targetPort ${p['targetPort']}`);
  });

  it('HPA scales the Deployment on a queue-length metric that the adapter exposes and the server exports', () => {
    const hpa = byKind('HorizontalPodAutoscaler');
    assert.equal(hpa['apiVersion'], 'autoscaling/v2');
    assert.deepEqual(hpa['spec']['scaleTargetRef'], {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment['metadata']['name'],
    });
    assert.ok(hpa['spec']['minReplicas'] >= 1 && hpa['spec']['minReplicas'] <= hpa['spec']['maxReplicas']);
    const metric = (hpa['spec']['metrics'] as Doc[]).find((m) => m['type'] === 'Pods')?.['pods'];
    const name = metric?.['metric']?.['name'] as string;
    assert.match(name, /waiting/);
    assert.equal(metric['target']['type'], 'AverageValue');

    const adapter = load('prometheus-adapter-values.yaml')[0]!;
    const rule = (adapter['rules']['custom'] as Doc[]).find((r) => r['name']['as'] === name);
    assert.ok(rule, 'the Prometheus adapter exposes the metric');
    assert.ok((rule['seriesQuery'] as string).startsWith(`${name}{`));
    assert.deepEqual(Object.keys(rule['resources']['overrides']).sort(), ['namespace', 'pod']);
    assert.match(rule['metricsQuery'] as string, /<<\.GroupBy>>/);

    const exported = new ServerMetrics(() => ({
      numRunning: 0,
      numWaiting: 0,
      cacheBlocksUsed: 0,
      cacheBlocksTotal: 1,
      cacheBlocksTouched: 0,
      cacheBlockSize: 1,
      cacheBytesPerToken: 1,
    }));
    assert.ok(exported.registry.getSingleMetric(name), `the server exports ${name}`);
  });

  it('PodDisruptionBudget selects the same pods', () => {
    const pdb = byKind('PodDisruptionBudget');
    assert.ok(matches(pdb['spec']['selector']['matchLabels'], pod['metadata']['labels']));
  });
});
