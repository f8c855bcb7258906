// The Hono app: routes plus the single error mapping (errors.ts) for every non-streamed failure.
import { Hono } from 'hono';
import { NotFound } from '../engine/errors.js';
import { toErrorResponse } from './errors.js';
import type { ServerOptions } from './options.js';
import { addChatRoute } from './routes/chat.js';
import { addCompletionsRoute } from './routes/completions.js';
import { addInfoRoutes } from './routes/info.js';
import { addTokenizeRoutes } from './routes/tokenize.js';

export function createApp(opts: ServerOptions): Hono {
  const app = new Hono();
  addChatRoute(app, opts);
  addCompletionsRoute(app, opts);
  addTokenizeRoutes(app, opts);
  addInfoRoutes(app, opts);
  app.notFound((c) => {
    const { status, body } = toErrorResponse(new NotFound(`No route for ${c.req.method} ${c.req.path}.`));
    return c.json(body, status);
  });
  app.onError((err, c) => {
    const { status, body } = toErrorResponse(err);
    return c.json(body, status);
  });
  return app;
}
