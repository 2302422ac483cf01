// The property vocabulary of diagram cells: the facts rules match on ("store without encryption",
// "flow over plain HTTP", ...). The reference diagram has no such fields, so they live in a cell's
// `data`: as `_metadata` entries (string values, editable in any TMI client) or as typed values in
// `data.properties`. Importers write `_metadata`; both are read, `data.properties` wins.
// docs/rules.md describes every key; this table is the one definition.

export type PropertyType = 'boolean' | 'string' | 'list' | 'scale';
export type Applies = 'element' | 'flow' | 'both';
export type PropertyValue = boolean | string | string[];

export interface PropertyDef {
  type: PropertyType;
  applies: Applies;
  description: string;
  /** For 'scale': the ordered values, lowest first; for 'string': the known values (others allowed). */
  values?: readonly string[];
  /** Computed by the engine from the diagram; cannot be set on a cell. */
  derived?: true;
}

/** Confidentiality, lowest first (Threagile's scale, which the importers map onto). */
export const CLASSIFICATION = ['public', 'internal', 'restricted', 'confidential', 'strictly-confidential'] as const;
/** Availability or integrity needs, lowest first (Threagile's criticality scale). */
export const CRITICALITY = ['archive', 'operational', 'important', 'critical', 'mission-critical'] as const;

const CLASSIFICATION_ALIASES: Record<string, string> = {
  unclassified: 'public',
  open: 'public',
  'internal-use': 'internal',
  private: 'restricted',
  sensitive: 'confidential',
  pii: 'confidential',
  personal: 'confidential',
  secret: 'strictly-confidential',
  'top-secret': 'strictly-confidential',
  'highly-confidential': 'strictly-confidential',
  'strictly confidential': 'strictly-confidential',
};
const CRITICALITY_ALIASES: Record<string, string> = {
  low: 'operational',
  medium: 'important',
  high: 'critical',
  'very-high': 'mission-critical',
};

export const AUTHENTICATION = ['none', 'credentials', 'session-id', 'token', 'client-certificate', 'two-factor', 'externalized'] as const;
export const AUTHORIZATION = ['none', 'technical-user', 'end-user-identity-propagation'] as const;

/**
 * Protocols that carry their own transport encryption; a flow with one of these is `encrypted`.
 * Process-local ones (in-process calls, local files, IPC) count too: they never cross a network.
 */
const ENCRYPTED_PROTOCOLS = new Set([
  'https', 'wss', 'tls', 'dtls', 'ssh', 'sftp', 'scp', 'ftps', 'ldaps', 'smtps', 'imaps', 'pop3s', 'mqtts', 'amqps', 'grpcs',
  'ipsec', 'vpn', 'jdbc-encrypted', 'odbc-encrypted', 'sql-access-protocol-encrypted', 'nosql-access-protocol-encrypted',
  'binary-encrypted', 'text-encrypted', 'reverse-proxy-web-protocol-encrypted', 'iiop-encrypted', 'jrmp-encrypted',
  'smb-encrypted', 'nfs-encrypted', 'local-file-access', 'in-process-library-call', 'in-memory', 'inter-process-communication',
  'container-spawning',
]);

export const PROPERTIES: Record<string, PropertyDef> = {
  // Facts about elements (actors, processes, stores).
  technology: {
    type: 'string',
    applies: 'element',
    description: 'What the element is, in Threagile\'s words where one fits: web-server, web-application, api, browser, mobile-app, desktop, database, file-server, file-system, ldap-server, identity-provider, message-queue, vault, waf, reverse-proxy, load-balancer, build-pipeline, sourcecode-repository, artifact-registry, container-platform, cms, iot-device, ...',
  },
  encrypted: { type: 'boolean', applies: 'both', description: 'Stores: data at rest is encrypted. Flows: the channel is encrypted (derived from `protocol` when not set).' },
  encryption: { type: 'string', applies: 'element', description: 'Threagile\'s encryption of a technical asset (none, transparent, data-with-symmetric-shared-key, ...); `encrypted` is derived from it when not set.' },
  signed: { type: 'boolean', applies: 'element', description: 'Stores: data is signed (integrity protected).' },
  stores_credentials: { type: 'boolean', applies: 'element', description: 'Stores: holds passwords, keys or other secrets.' },
  is_log: { type: 'boolean', applies: 'element', description: 'Stores: an audit or application log.' },
  audit_logging: { type: 'boolean', applies: 'element', description: 'Processes: security-relevant actions are logged.' },
  validates_input: { type: 'boolean', applies: 'element', description: 'Processes: input is validated or sanitised.' },
  data_formats: { type: 'list', applies: 'element', description: 'Formats a process accepts: json, xml, serialization, file, csv, yaml, ...' },
  internet: { type: 'boolean', applies: 'element', description: 'Reachable from (or located on) the internet.' },
  human_use: { type: 'boolean', applies: 'element', description: 'Actors and clients: used by a person (a browser, a desktop app).' },
  multi_tenant: { type: 'boolean', applies: 'element', description: 'Shared by several tenants or customers.' },
  custom_developed: { type: 'boolean', applies: 'element', description: 'Contains code written by the team (not only off-the-shelf parts).' },
  personal_data: { type: 'boolean', applies: 'both', description: 'Processes, stores or carries personal data (drives the LINDDUN rules).' },
  trust_level: { type: 'string', applies: 'element', values: ['untrusted', 'partially-trusted', 'trusted'], description: 'How far the element is trusted.' },
  privilege_level: { type: 'string', applies: 'element', description: 'The privileges a process runs with (free text: administrator, system, limited, ...).' },
  availability: { type: 'scale', applies: 'element', values: CRITICALITY, description: 'Availability need: archive < operational < important < critical < mission-critical.' },
  integrity: { type: 'scale', applies: 'both', values: CRITICALITY, description: 'Integrity need, on the availability scale.' },
  out_of_scope: { type: 'boolean', applies: 'both', description: 'Left out of the analysis; rules skip it.' },
  // Facts about flows.
  protocol: { type: 'string', applies: 'flow', description: 'The wire protocol, lower case: http, https, ws, wss, ftp, sftp, ssh, jdbc, jdbc-encrypted, ldap, ldaps, smtp, grpc, mqtt, amqp, binary, ...' },
  authentication: { type: 'string', applies: 'both', values: AUTHENTICATION, description: 'How the caller is authenticated on this flow (or, on an element, what it requires).' },
  authorization: { type: 'string', applies: 'both', values: AUTHORIZATION, description: 'How access is authorised on this flow (or by this element).' },
  public_network: { type: 'boolean', applies: 'flow', description: 'The flow travels over a public network.' },
  vpn: { type: 'boolean', applies: 'flow', description: 'The flow goes through a VPN.' },
  readonly: { type: 'boolean', applies: 'flow', description: 'The flow only reads.' },
  bidirectional: { type: 'boolean', applies: 'flow', description: 'Data goes both ways.' },
  // Facts about either, and the ones the engine computes.
  data_classification: {
    type: 'scale',
    applies: 'both',
    values: CLASSIFICATION,
    description: 'Confidentiality of the data: public < internal < restricted < confidential < strictly-confidential. The engine takes the highest of the cell\'s own value and the classification of its linked assets (`data.data_assets`).',
  },
  crosses_trust_boundary: {
    type: 'boolean',
    applies: 'flow',
    description: 'Flows: the two ends sit in different trust boundaries (computed from boundary nesting; an explicit value wins, as importers set for boundary lines).',
  },
  kind: { type: 'string', applies: 'both', values: ['actor', 'process', 'store', 'flow'], derived: true, description: 'The cell\'s kind.' },
  name: { type: 'string', applies: 'both', derived: true, description: 'The cell\'s label.' },
  in_trust_boundary: { type: 'boolean', applies: 'element', derived: true, description: 'Elements: inside at least one trust boundary.' },
  inbound_count: { type: 'string', applies: 'element', derived: true, description: 'Elements: the number of flows ending here (as a decimal string).' },
  outbound_count: { type: 'string', applies: 'element', derived: true, description: 'Elements: the number of flows starting here (as a decimal string).' },
};

/** Keys of raw cell metadata readable in rules as `meta:<key>` (string values). */
export const META_PREFIX = 'meta:';

/** Cell metadata key listing dismissed rule ids (comma separated), so a dismissal travels with the cell. */
export const DISMISSED_KEY = 'dismissed_suggestions';
/** Threat metadata key carrying the fingerprint of the suggestion it was accepted from. */
export const SUGGESTION_KEY = 'suggestion';

export function isKnownProperty(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(PROPERTIES, name) || (name.startsWith(META_PREFIX) && name.length > META_PREFIX.length);
}

const slug = (s: string) => s.trim().toLowerCase().replace(/[\s_]+/g, '-');

/** A value on a scale in canonical form, or undefined when it is not on the scale. */
export function onScale(name: string, raw: string): string | undefined {
  const def = PROPERTIES[name];
  if (!def?.values) return undefined;
  const s = slug(raw);
  const aliased = (name === 'data_classification' ? CLASSIFICATION_ALIASES : CRITICALITY_ALIASES)[s] ?? s;
  return def.values.includes(aliased) ? aliased : undefined;
}

export function scaleRank(name: string, value: string): number {
  return PROPERTIES[name]?.values?.indexOf(value) ?? -1;
}

function coerce(name: string, raw: unknown): PropertyValue | undefined {
  const def = PROPERTIES[name];
  const type = def?.type ?? 'string';
  if (type === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    if (typeof raw !== 'string') return undefined;
    const s = raw.trim().toLowerCase();
    if (['true', 'yes', 'y', '1', 'on'].includes(s)) return true;
    if (['false', 'no', 'n', '0', 'off'].includes(s)) return false;
    return undefined;
  }
  if (type === 'list') {
    const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [];
    const out = items.filter((v): v is string => typeof v === 'string').map(slug).filter(Boolean);
    return out.length ? [...new Set(out)].sort() : undefined;
  }
  if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
  const s = String(raw).trim();
  if (!s) return undefined;
  if (type === 'scale') return onScale(name, s);
  return def ? slug(s) : s;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The settable properties of one cell, from its `data`: `_metadata` entries first, then
 * `data.properties` on top. Unknown keys are kept as `meta:<key>` (strings); values that do not fit
 * a property's type are left out.
 */
export function readProperties(data: unknown): Map<string, PropertyValue> {
  const out = new Map<string, PropertyValue>();
  if (!isObj(data)) return out;
  const put = (key: string, raw: unknown) => {
    if (typeof raw === 'string') out.set(META_PREFIX + key, raw);
    const def = PROPERTIES[key];
    if (!def || def.derived) return;
    const v = coerce(key, raw);
    if (v !== undefined) out.set(key, v);
  };
  if (Array.isArray(data._metadata)) {
    for (const m of data._metadata) if (isObj(m) && typeof m.key === 'string') put(m.key, m.value);
  }
  if (isObj(data.properties)) for (const [k, v] of Object.entries(data.properties)) put(k, v);
  return out;
}

/** Whether a protocol name implies an encrypted channel. */
export function protocolEncrypted(protocol: string): boolean | undefined {
  const p = slug(protocol);
  if (!p) return undefined;
  return ENCRYPTED_PROTOCOLS.has(p) || p.endsWith('-encrypted') || p === 'http/s' || p.includes('tls') || p.includes('ssl');
}

/** The vocabulary value that Threagile's `encryption` field implies. */
export function encryptionImplies(encryption: string): boolean {
  return slug(encryption) !== 'none';
}

/** Cell `_metadata` entries for a set of properties, in key order (what importers write). */
export function toMetadata(props: Record<string, PropertyValue | undefined | null>): { key: string; value: string }[] {
  return Object.keys(props)
    .sort()
    .flatMap((key) => {
      const v = props[key];
      if (v === undefined || v === null) return [];
      const value = Array.isArray(v) ? v.join(',') : String(v);
      return value ? [{ key, value: value.slice(0, 1024) }] : [];
    });
}
