// GET /v1/models, /v1/models/:id, /health, /metrics and /version: what is served, whether it is up, how it is doing.
import type { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import { checkModel } from '../engine-request.js';
import { RETRY_AFTER_S } from '../errors.js';
import type { RouteOptions } from '../options.js';
import { unixSeconds } from '../usage.js';
import { SERVER_VERSION } from '../version.js';

export function addInfoRoutes(app: Hono<AppEnv>, opts: RouteOptions): void {
  const created = unixSeconds();
  const model = {
    id: opts.servedModelName,
    object: 'model',
    created,
    owned_by: 'latentserve',
    root: opts.servedModelName,
    parent: null,
    max_model_len: opts.maxModelLen,
  };

  app.get('/v1/models', (c) => c.json({ object: 'list', data: [model] }));

  app.get('/v1/models/:id{.+}', (c) => {
    checkModel(c.req.param('id'), opts.servedModelName);
    return c.json(model);
  });

  // The engine is ready once constructed, so being able to answer is being healthy, until a drain begins: then
  // 503 takes the replica out of its load balancer while running streams finish.
  app.get('/health', (c) => {
    if (opts.lifecycle.isDraining) return c.json({ status: 'draining' }, 503, { 'Retry-After': String(RETRY_AFTER_S) });
    return c.json({ status: 'ok' });
  });

  app.get('/version', (c) => c.json({ version: SERVER_VERSION }));

  app.get('/metrics', async (c) => {
    const registry = opts.metrics.registry;
    return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
  });
}
