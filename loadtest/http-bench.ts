// The server's own overhead, measured with autocannon: GET /health and a 1-token non-streaming completion as fast
// as C connections allow. Tokens per second say how fast the model is; these numbers say what the HTTP layer,
// JSON and the engine's queue cost on top of it.
import autocannon from 'autocannon';
import { headers, type Target } from './client/target.js';
import type { HttpBenchResult } from './results.js';

export interface HttpBenchConfig {
  readonly target: Target;
  readonly label: string;
  readonly connections: number;
  readonly durationS: number;
}

interface Probe {
  readonly name: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
}

export function httpProbes(target: Target): Probe[] {
  const completion =
    target.endpoint === 'chat'
      ? {
          path: '/v1/chat/completions',
          body: {
            model: target.model,
            messages: [{ role: 'user', content: 'Hi' }],
            max_completion_tokens: 1,
            temperature: 0,
          },
        }
      : { path: '/v1/completions', body: { model: target.model, prompt: 'Hi', max_tokens: 1, temperature: 0 } };
  return [
    { name: 'health', method: 'GET', path: '/health' },
    { name: '1-token completion', method: 'POST', path: completion.path, body: JSON.stringify(completion.body) },
  ];
}

export async function runHttpProbe(config: HttpBenchConfig, probe: Probe): Promise<HttpBenchResult> {
  const result = await autocannon({
    url: `${config.target.baseUrl}${probe.path}`,
    method: probe.method,
    headers: headers(config.target, probe.body !== undefined),
    ...(probe.body === undefined ? {} : { body: probe.body }),
    connections: config.connections,
    duration: config.durationS,
  });
  return {
    label: config.label,
    name: probe.name,
    method: probe.method,
    path: probe.path,
    connections: config.connections,
    duration_s: result.duration,
    requests: result.requests.total,
    requests_per_s: result.requests.total / result.duration,
    latency_mean_ms: result.latency.mean,
    latency_p50_ms: result.latency.p50,
    latency_p90_ms: result.latency.p90,
    latency_p99_ms: result.latency.p99,
    latency_max_ms: result.latency.max,
    non_2xx: result.non2xx,
    errors: result.errors,
  };
}

export async function runHttpBench(config: HttpBenchConfig): Promise<HttpBenchResult[]> {
  const out: HttpBenchResult[] = [];
  for (const probe of httpProbes(config.target)) out.push(await runHttpProbe(config, probe));
  return out;
}
