// The benchmarks' REST calls to a server under test: bearer token, JSON in and out, and a thrown
// error naming the call for any status from 300 on (a benchmark on a failing call measures nothing).

/** `method url` on `base`; the answer's JSON, or null when it has no body. */
export async function api<T = any>(base: string, token: string, method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** Calls `fn(0)` .. `fn(n - 1)`, `width` at a time (a seed of many REST calls). */
export async function parallel(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}
