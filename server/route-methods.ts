// Which methods a path takes, read from the app's own router, so that a request with a method the route does not
// take is a 405 naming them in `Allow` (RFC 9110) rather than a 404. Middleware (method ALL) does not count.
import type { Hono } from 'hono';
import type { AppEnv } from './app-env.js';

const CANDIDATES = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

/** The methods some route answers at `path` (GET implies HEAD, which Hono serves from the GET route); [] if none. */
export function routeMethods(app: Hono<AppEnv>, path: string): string[] {
  const methods: string[] = [];
  for (const method of CANDIDATES) {
    const [matches] = app.router.match(method, path);
    if (matches.some(([[, route]]) => route.method !== 'ALL')) methods.push(method);
  }
  if (methods.includes('GET')) methods.push('HEAD');
  return methods;
}
