// Bearer-token auth: `Authorization: Bearer KEY` must name one of the configured keys on every route except
// /health (and /metrics, unless it is protected too). Keys are compared as SHA-256 digests with
// timingSafeEqual, against every key without stopping at a match, so the time taken says nothing about any key.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.js';
import { Unauthorized } from './errors.js';

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** Keys from repeated --api-key flags and LATENTSERVE_API_KEY (comma-separated); blanks dropped, order kept. */
export function parseApiKeys(flags: readonly string[], env: string | undefined): string[] {
  const keys = [...flags, ...(env ?? '').split(',')].map((k) => k.trim()).filter((k) => k.length > 0);
  return [...new Set(keys)];
}

export class ApiKeyChecker {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  matches(candidate: string): boolean {
    const d = digest(candidate);
    let ok = false;
    for (const k of this.digests) ok = timingSafeEqual(d, k) || ok;
    return ok;
  }
}

/** The token of an `Authorization: Bearer …` header, or null. */
function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

export function apiKeyAuth(keys: readonly string[], opts: { protectMetrics: boolean }): MiddlewareHandler<AppEnv> {
  const checker = new ApiKeyChecker(keys);
  const open = new Set(opts.protectMetrics ? ['/health'] : ['/health', '/metrics']);
  return async (c, next) => {
    if (open.has(c.req.path)) return next();
    const token = bearerToken(c.req.header('authorization'));
    if (token === null) {
      throw new Unauthorized(
        "You didn't provide an API key. Provide it in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY).",
        null,
      );
    }
    if (!checker.matches(token)) throw new Unauthorized('Incorrect API key provided.', 'invalid_api_key');
    return next();
  };
}
