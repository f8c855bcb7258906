// The server under test: where it is, which model and endpoint to call, and how to authenticate. Also the guard
// that keeps a load generator from being pointed at someone else's server by accident.

export type Endpoint = 'completions' | 'chat';

export interface Target {
  /** e.g. http://127.0.0.1:8000 (no trailing slash, no /v1). */
  readonly baseUrl: string;
  readonly model: string;
  readonly endpoint: Endpoint;
  readonly apiKey: string | null;
}

/** Accepts `http://host:port`, `http://host:port/` and `http://host:port/v1`; returns the origin-level base. */
export function normalizeBaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`not a URL: "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RangeError(`--base-url must be http(s), got "${text}"`);
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${url.origin}${path}`;
}

/** True for localhost, 127.0.0.0/8 and ::1 (also IPv4-mapped). DNS names other than localhost are not loopback. */
export function isLoopback(baseUrl: string): boolean {
  const host = new URL(baseUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  // WHATWG URL writes IPv4-mapped addresses in hex: [::ffff:127.0.0.1] becomes [::ffff:7f00:1].
  return (
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) ||
    (host.startsWith('::ffff:') && /^7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(v4))
  );
}

export function headers(target: Pick<Target, 'apiKey'>, json = true): Record<string, string> {
  return {
    ...(json ? { 'content-type': 'application/json' } : {}),
    ...(target.apiKey === null ? {} : { authorization: `Bearer ${target.apiKey}` }),
  };
}

export function endpointPath(endpoint: Endpoint): string {
  return endpoint === 'chat' ? '/v1/chat/completions' : '/v1/completions';
}
