// The Hono app: middleware, routes, and the single error mapping (errors.ts) for every non-streamed failure.
//
//   request-log (x-request-id, access log, 499s) → CORS (preflight 204, Access-Control-Allow-Origin) → lifecycle
//     (in-flight count, 503 while draining) → auth (Bearer) → body limit (413) → routes; a known path with another
//     method is a 405 with `Allow`
import { Hono } from 'hono';
import { pino } from 'pino';
import { inlineEncoder } from '../model/tokenizer-thread.js';
import type { AppEnv } from './app-env.js';
import { apiKeyAuth } from './auth.js';
import { bodyLimit } from './body-limit.js';
import { cors } from './cors.js';
import { requestVocabSize } from './engine-request.js';
import { MethodNotAllowed, NotFound, isServerFault, toErrorResponse } from './errors.js';
import { ServerLifecycle } from './lifecycle.js';
import { ConcurrencyLimit, PromptSizeGuard, resolveLimits } from './limits.js';
import type { RouteOptions, ServerOptions } from './options.js';
import { requestLog } from './request-log.js';
import { routeMethods } from './route-methods.js';
import { addChatRoute } from './routes/chat.js';
import { addCompletionsRoute } from './routes/completions.js';
import { addInfoRoutes } from './routes/info.js';
import { addResponsesRoutes } from './routes/responses.js';
import { addTokenizeRoutes } from './routes/tokenize.js';

export function resolveOptions(opts: ServerOptions): RouteOptions {
  const limits = resolveLimits(opts.limits, opts.maxModelLen);
  return {
    ...opts,
    vocabSize: requestVocabSize(opts.vocabSize, opts.tokenizer.vocabSize),
    encoder: opts.encoder ?? inlineEncoder(opts.tokenizer),
    limits,
    logger: opts.logger ?? pino({ level: 'silent' }),
    logPrompts: opts.logPrompts ?? false,
    lifecycle: opts.lifecycle ?? new ServerLifecycle(),
    streamSlots: new ConcurrencyLimit(limits.maxConcurrentStreams, 'concurrent streams'),
    promptGuard: new PromptSizeGuard(opts.tokenizer, limits),
  };
}

export function createApp(options: ServerOptions): Hono<AppEnv> {
  const opts = resolveOptions(options);
  const app = new Hono<AppEnv>();
  app.use(requestLog(opts.logger, opts.metrics));
  if ((opts.cors?.allowedOrigins.length ?? 0) > 0) app.use(cors(opts.cors!));
  app.use(opts.lifecycle.middleware());
  if ((opts.apiKeys?.length ?? 0) > 0)
    app.use(apiKeyAuth(opts.apiKeys!, { protectMetrics: opts.protectMetrics ?? false }));
  app.use(bodyLimit(opts.limits.maxBodyBytes));
  addChatRoute(app, opts);
  addCompletionsRoute(app, opts);
  addResponsesRoutes(app, opts);
  addTokenizeRoutes(app, opts);
  addInfoRoutes(app, opts);
  app.notFound((c) => {
    const allow = routeMethods(app, c.req.path);
    const err =
      allow.length > 0
        ? new MethodNotAllowed(c.req.method, c.req.path, allow)
        : new NotFound(`No route for ${c.req.method} ${c.req.path}.`);
    const { status, body, headers } = toErrorResponse(err);
    return c.json(body, status, headers);
  });
  app.onError((err, c) => {
    const { status, body, headers } = toErrorResponse(err);
    if (isServerFault(err)) c.var.log?.error({ err, status }, 'request failed');
    return c.json(body, status, headers);
  });
  return app;
}
