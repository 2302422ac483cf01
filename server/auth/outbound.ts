// The one HTTP client for talking to identity providers (discovery, JWKS, token, userinfo, SAML
// metadata). It connects to the address it checked (no DNS rebinding between check and connect),
// bounds connect time, total time and response size, never follows a redirect (a redirect would
// carry the client secret or the user's token to another host), speaks HTTPS only in production,
// and refuses private, loopback, link-local and other special-purpose addresses unless the
// provider is configured as internal (cloud metadata endpoints live at link-local addresses).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';

export interface OutboundPolicy {
  /** Refuse http:// (production). */
  httpsOnly: boolean;
  /** The provider is explicitly internal: private and loopback addresses are allowed. */
  allowPrivateAddresses: boolean;
  /** Loopback only (127.0.0.0/8, ::1): allowed outside production for providers run on the same machine. */
  allowLoopback: boolean;
  connectTimeoutMs: number;
  totalTimeoutMs: number;
  maxResponseBytes: number;
}

export class OutboundRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboundRefused';
  }
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Addresses that are not the public internet (RFC 6890 special-purpose ranges). */
const RESTRICTED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  RESTRICTED.addSubnet(net, bits, 'ipv4');
}
// IPv4-mapped addresses (::ffff:0:0/96) are judged as the IPv4 address they carry (addressRefusal);
// listing that range here would make BlockList match every IPv4 address.
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  RESTRICTED.addSubnet(net, bits, 'ipv6');
}

/** Why an address may not be contacted under `policy`, or null when it may. */
export function addressRefusal(address: string, policy: Pick<OutboundPolicy, 'allowPrivateAddresses' | 'allowLoopback'>): string | null {
  const family = isIP(address);
  if (!family) return `${address} is not an IP address`;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  // An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
  const mapped = type === 'ipv6' ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
  if (mapped) return addressRefusal(mapped, policy);
  if (policy.allowPrivateAddresses) return null;
  if (policy.allowLoopback && LOOPBACK.check(address, type)) return null;
  if (RESTRICTED.check(address, type)) {
    return `${address} is a private, loopback, link-local or reserved address; set the provider's _INTERNAL=true if it really lives there`;
  }
  return null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup that only ever hands the socket an address the policy allows. */
function checkedLookup(policy: OutboundPolicy) {
  return (hostname: string, options: object, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as LookupAddress[];
      const allowed = list.filter((a) => addressRefusal(a.address, policy) === null);
      if (!allowed.length) {
        const reason = list.length ? addressRefusal(list[0]!.address, policy)! : `${hostname} has no address`;
        return callback(Object.assign(new OutboundRefused(`refused to connect to ${hostname}: ${reason}`), { code: 'EREFUSED_POLICY' }), '');
      }
      if ((options as { all?: boolean }).all) return callback(null, allowed);
      return callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

function headersOf(res: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    for (const one of [v].flat()) h.append(k, one);
  }
  return h;
}

export type FetchLike = (url: string | URL, init?: { method?: string; headers?: HeadersInit; body?: unknown; signal?: AbortSignal | null; redirect?: string }) => Promise<Response>;

/**
 * A fetch for identity-provider endpoints under `policy`. Redirects come back as they are (3xx),
 * which openid-client and our callers treat as failures.
 */
export function outboundFetch(policy: OutboundPolicy): FetchLike {
  const lookup = checkedLookup(policy);
  return async (input, init = {}) => {
    const url = new URL(String(input));
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OutboundRefused(`refused ${url.protocol} URL`);
    if (policy.httpsOnly && url.protocol !== 'https:') throw new OutboundRefused(`refused ${url.origin}: identity providers are reached over https only`);
    if (url.username || url.password) throw new OutboundRefused('refused a URL with credentials in it');
    // A literal address is checked here; names are checked as they resolve (checkedLookup).
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal)) {
      const reason = addressRefusal(literal, policy);
      if (reason) throw new OutboundRefused(`refused to connect to ${literal}: ${reason}`);
    }
    const headers = new Headers(init.headers ?? {});
    let body: Buffer | undefined;
    if (init.body !== undefined && init.body !== null) {
      if (init.body instanceof URLSearchParams) {
        body = Buffer.from(init.body.toString());
        if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      } else if (typeof init.body === 'string') {
        body = Buffer.from(init.body);
      } else if (init.body instanceof Uint8Array) {
        body = Buffer.from(init.body);
      } else {
        throw new OutboundRefused('unsupported request body');
      }
      headers.set('content-length', String(body.length));
    }
    const total = AbortSignal.timeout(policy.totalTimeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, total]) : total;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Response>((resolve, reject) => {
      const req = send(url, {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(headers),
        lookup: lookup as never,
        signal,
        timeout: policy.connectTimeoutMs,
      });
      // `timeout` is socket idleness; before the connection it bounds the connect.
      req.on('timeout', () => req.destroy(new OutboundRefused(`${url.origin} did not answer within ${policy.connectTimeoutMs} ms`)));
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        reject(total.aborted ? new OutboundRefused(`${url.origin} took longer than ${policy.totalTimeoutMs} ms`) : err);
      };
      req.on('error', fail);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > policy.maxResponseBytes) {
            fail(new OutboundRefused(`${url.origin} sent more than ${policy.maxResponseBytes} bytes`));
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          const status = res.statusCode ?? 502;
          // Response refuses a body for these statuses.
          const bodyless = status === 204 || status === 304 || (status >= 100 && status < 200);
          resolve(new Response(bodyless ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage, headers: headersOf(res) }));
        });
      });
      if (body) req.end(body);
      else req.end();
    });
  };
}
