// HTTP load of the benchmarks: one autocannon run of a request and the figures kept from it.
import autocannon, { type Result } from 'autocannon';

export interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** A request to load: GET unless `method`; `body` is sent as JSON. */
export interface Load {
  url: string;
  token?: string;
  method?: string;
  body?: string;
}

const figures = (r: Result): Figures => ({ rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** `connections` clients sending the request back to back for `duration` seconds. */
export function runLoad(l: Load, duration: number, connections: number): Promise<Result> {
  const headers: Record<string, string> = {};
  if (l.token) headers.authorization = `Bearer ${l.token}`;
  if (l.body) headers['content-type'] = 'application/json';
  return autocannon({ url: l.url, connections, duration, method: l.method ?? 'GET', headers, body: l.body });
}

/** Rounds of one request as one set of figures: mean req/s, median p50 and p99, errors summed. */
export function combine(results: Result[]): Figures {
  const f = results.map(figures);
  return {
    rps: Math.round(f.reduce((a, x) => a + x.rps, 0) / f.length),
    p50: median(f.map((x) => x.p50)),
    p99: median(f.map((x) => x.p99)),
    errors: f.reduce((a, x) => a + x.errors, 0),
    non2xx: f.reduce((a, x) => a + x.non2xx, 0),
  };
}
