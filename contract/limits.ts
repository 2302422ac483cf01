// The wire's values a client checks or offers before it sends anything: text patterns, the rules
// of the text fields, enumerations and size limits. The TypeBox schemas of contract/ are built
// from these definitions; the browser app imports them from here, so its bundle gets the values
// without the schema builder. This module therefore imports nothing (test/web-imports.test.ts).

// ---- text patterns (JavaScript regular expression sources, anchored) -----------------------------

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** A UUID or the empty string, loosely (threat links to a diagram, cell or asset). */
export const OPTIONAL_UUID_PATTERN = '^$|^[0-9a-fA-F]*-[0-9a-fA-F]*-[0-9a-fA-F]*-[0-9a-fA-F]*-[0-9a-fA-F]*$';
/** One control character (U+0000 to U+001F), the class NO_CONTROL excludes. */
export const CONTROL_CHARACTER = '[\\x00-\\x1F]';
/** One line without control characters. */
export const NO_CONTROL = '^[^\\x00-\\x1F]*$';
/** Names: no characters that matter in HTML. */
export const SAFE_NAME = '^[^<>"\'&]*$';
export const DESCRIPTION_TEXT = '^[^<>\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]*$';
/** Several lines (tab, line feed and carriage return allowed). */
export const MULTILINE_TEXT = '^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]*$';
export const ISSUE_URI =
  '^$|^\\s*https?:\\/\\/[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*(:[0-9]{1,5})?(\\/[^\\s]*)?\\s*$';
/** Any `scheme://...` URI, as Document.uri and Repository.uri. */
export const ANY_URI = '^[a-zA-Z][a-zA-Z0-9+.-]*://[^\\s]*$';
export const METADATA_KEY_PATTERN = '^[a-zA-Z0-9_./:-]+$';
/** A colour in cell attributes: #hex, rgb(r, g, b) or a CSS colour name. */
export const COLOR_PATTERN = '^(#[0-9a-fA-F]*|rgb\\( *[0-9]+ *, *[0-9]+ *, *[0-9]+ *\\)|[a-z]+)$';
/** A stroke dash array in cell attributes: "8,4", or empty. */
export const DASH_PATTERN = '^$|^[0-9]+(\\.[0-9]+)?(,[0-9]+(\\.[0-9]+)?)*$';

// ---- the rules of text fields -------------------------------------------------------------------

/** A text field's rules as JSON Schema string keywords: the schemas pass them to Type.String. */
export interface TextRule {
  readonly minLength?: number;
  readonly maxLength: number;
  readonly pattern?: string;
}

const childName = { minLength: 1, maxLength: 256, pattern: SAFE_NAME } as const satisfies TextRule;
const childDescription = { maxLength: 2048, pattern: DESCRIPTION_TEXT } as const satisfies TextRule;
const issueUri = { maxLength: 1000, pattern: ISSUE_URI } as const satisfies TextRule;
const link = { minLength: 1, maxLength: 1000, pattern: ANY_URI } as const satisfies TextRule;
/** Free short values: threat priority, status and types, repository references. */
const shortText = { maxLength: 256, pattern: NO_CONTROL } as const satisfies TextRule;
const assetAttribute = { maxLength: 128, pattern: NO_CONTROL } as const satisfies TextRule;

export const THREAT_MODEL_TEXT = {
  name: { minLength: 1, maxLength: 256, pattern: NO_CONTROL },
  description: { maxLength: 2048, pattern: MULTILINE_TEXT },
  threat_model_framework: { maxLength: 30, pattern: '^[A-Za-z0-9_-]*$' },
  issue_uri: issueUri,
} as const satisfies Record<string, TextRule>;

export const METADATA_TEXT = {
  key: { minLength: 1, maxLength: 256, pattern: METADATA_KEY_PATTERN },
  value: { minLength: 1, maxLength: 1024 },
} as const satisfies Record<string, TextRule>;

export const DIAGRAM_TEXT = {
  /** PUT checks names as the other children do. */
  name: { minLength: 1, maxLength: 256, pattern: SAFE_NAME },
  /** POST checks only for control characters (as the reference). */
  create_name: { minLength: 1, maxLength: 256, pattern: NO_CONTROL },
  description: { maxLength: 2048, pattern: MULTILINE_TEXT },
  /** A node's or a flow's label. */
  label: { maxLength: 256, pattern: NO_CONTROL },
} as const satisfies Record<string, TextRule>;

export const THREAT_TEXT = {
  name: childName,
  description: childDescription,
  mitigation: { maxLength: 1024, pattern: MULTILINE_TEXT },
  severity: { maxLength: 50, pattern: NO_CONTROL },
  priority: shortText,
  status: shortText,
  threat_type: { minLength: 1, ...shortText },
  issue_uri: issueUri,
  cwe_id: { minLength: 5, maxLength: 16, pattern: '^CWE-[0-9]+$' },
  cvss_vector: { minLength: 26, maxLength: 250, pattern: '^[A-Za-z0-9.:/_-]+$' },
} as const satisfies Record<string, TextRule>;

export const ASSET_TEXT = {
  name: childName,
  description: childDescription,
  /** Criticality, sensitivity and each classification entry. */
  attribute: assetAttribute,
} as const satisfies Record<string, TextRule>;

export const DOCUMENT_TEXT = { name: childName, uri: link, description: childDescription } as const satisfies Record<string, TextRule>;

export const REPOSITORY_TEXT = {
  name: childName,
  uri: link,
  description: childDescription,
  /** The branch, tag or commit, and the sub-path. */
  reference: shortText,
} as const satisfies Record<string, TextRule>;

export const NOTE_TEXT = {
  name: childName,
  content: { minLength: 1, maxLength: 262_144, pattern: MULTILINE_TEXT },
  description: childDescription,
} as const satisfies Record<string, TextRule>;

/** A runtime setting (/admin/settings): its key, value and description; and its value types. */
export const SETTING_TEXT = {
  key: { minLength: 1, maxLength: 256, pattern: '^[a-z][a-z0-9_.]*$' },
  value: { maxLength: 4000 },
  description: { maxLength: 2048 },
} as const satisfies Record<string, TextRule>;
export const SETTING_TYPES = ['string', 'int', 'bool', 'json', 'float'] as const;

/** The development sign-in provider (dev and test builds), and its user names (`login_hint`, lower-cased by the server). */
export const DEV_PROVIDER_ID = 'tmi';
/** A client credential's name and description (POST /me/client_credentials). */
export const CLIENT_CREDENTIAL_TEXT = { name: { minLength: 1, maxLength: 100 }, description: { maxLength: 500 } } as const satisfies Record<string, TextRule>;
export const DEV_LOGIN_HINT = { minLength: 3, maxLength: 20, pattern: '^[a-zA-Z0-9][a-zA-Z0-9-]{1,18}[a-zA-Z0-9]$' } as const satisfies TextRule;

// ---- numbers ------------------------------------------------------------------------------------

/** The largest page a list answers (`limit`). */
export const MAX_PAGE_SIZE = 100;

/** A threat's score and a CVSS score. */
export const SCORE = { minimum: 0, maximum: 10, multipleOf: 0.1 } as const;
/** The smallest node the API accepts. */
export const NODE_MIN_SIZE = { width: 40, height: 30 } as const;

// ---- enumerations -------------------------------------------------------------------------------

/**
 * The reference's enum form: "In Progress" -> "in_progress", "NotApplicable" -> "not_applicable",
 * "High" -> "high" (the server rewrites `status`, `severity` and `priority` so; importers too).
 */
export function lowerSnake(value: string): string {
  return value
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

export const ROLES = ['reader', 'writer', 'owner'] as const;
/** STRIDE first: it is the default. */
export const FRAMEWORKS = ['STRIDE', 'CIA', 'LINDDUN', 'DIE', 'PLOT4ai'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
/**
 * The categories of each framework, as the threat_type names offered for a threat (threat_type
 * itself is free text). The rules engine maps its category codes onto these names.
 */
export const FRAMEWORK_THREAT_TYPES = {
  STRIDE: ['Spoofing', 'Tampering', 'Repudiation', 'Information Disclosure', 'Denial of Service', 'Elevation of Privilege'],
  CIA: ['Confidentiality', 'Integrity', 'Availability'],
  LINDDUN: ['Linkability', 'Identifiability', 'Non-repudiation', 'Detectability', 'Disclosure of Information', 'Unawareness', 'Non-compliance'],
  DIE: ['Distributed', 'Immutable', 'Ephemeral'],
  PLOT4ai: ['Technique & Processes', 'Accessibility', 'Identifiability & Linkability', 'Security', 'Safety', 'Unawareness', 'Ethics & Human Rights', 'Non-compliance'],
} as const satisfies Record<Framework, readonly string[]>;
/** A threat model's status is free text; these are the conventional values, in workflow order. */
export const THREAT_MODEL_STATUSES = [
  'not_started',
  'in_progress',
  'pending_review',
  'remediation_required',
  'remediation_in_progress',
  'verification_pending',
  'approved',
  'rejected',
  'deferred',
  'closed',
] as const;

/*
 * A threat's severity, priority and status are free text that the server stores in lower snake
 * case; these are the conventional values. Severities and priorities are in rank order, lowest
 * first (the threat list sorts by that rank); statuses are in workflow order.
 */
export const THREAT_SEVERITIES = ['unknown', 'informational', 'low', 'medium', 'high', 'critical'] as const;
export const THREAT_PRIORITIES = ['deferred', 'low', 'medium', 'high', 'immediate'] as const;
export const THREAT_STATUSES = [
  'open',
  'confirmed',
  'mitigation_planned',
  'mitigation_in_progress',
  'verification_pending',
  'resolved',
  'accepted',
  'false_positive',
  'deferred',
  'closed',
] as const;

export const ASSET_TYPES = ['data', 'hardware', 'software', 'infrastructure', 'service', 'personnel'] as const;
export const REPOSITORY_TYPES = ['git', 'svn', 'mercurial', 'other'] as const;

export const DIAGRAM_TYPE = 'DFD-1.0.0';
export const NODE_SHAPES = ['actor', 'process', 'store', 'security-boundary', 'text-box'] as const;
export type NodeShape = (typeof NODE_SHAPES)[number];
export const EDGE_SHAPE = 'flow';
/** The sides of a node its ports sit on; also the ids of the editor's four ports. */
export const PORT_SIDES = ['top', 'right', 'bottom', 'left'] as const;

// ---- sharing ------------------------------------------------------------------------------------

/** The provider of TMI's own groups: the built-in ones, other TMI groups and `everyone`. */
export const TMI_GROUP_PROVIDER = 'tmi';
/** The pseudo-group of every signed-in user (provider TMI_GROUP_PROVIDER). */
export const EVERYONE_GROUP = 'everyone';
/**
 * The people-and-groups search of the sharing dialog (GET /principals, our extension): the
 * shortest query it answers, the longest it accepts, and how many matches it returns.
 */
export const PRINCIPAL_SEARCH = { minQuery: 2, maxQuery: 100, defaultLimit: 10, maxLimit: 20 } as const;

// ---- what a threat model holds -------------------------------------------------------------------

/**
 * The kinds of a threat model's children, in the order of the ThreatModel body. A kind's `name` is
 * its URL segment (`/threat_models/{id}/threats`), the key of its list envelope and of its array
 * in ThreatModel; `objectType` names one item in the audit trail and in metadata; `idParam` is the
 * path parameter of one item; `label` starts messages ("Threat not found"); `count` is its count in
 * a threat-model list item; `metadataBulkLimit` bounds the bulk metadata endpoints of one item.
 */
export const CHILD_KINDS = [
  { name: 'threats', objectType: 'threat', idParam: 'threat_id', label: 'Threat', count: 'threat_count', metadataBulkLimit: 20 },
  { name: 'diagrams', objectType: 'diagram', idParam: 'diagram_id', label: 'Diagram', count: 'diagram_count', metadataBulkLimit: 20 },
  { name: 'documents', objectType: 'document', idParam: 'document_id', label: 'Document', count: 'document_count', metadataBulkLimit: 20 },
  { name: 'repositories', objectType: 'repository', idParam: 'repository_id', label: 'Repository', count: 'repo_count', metadataBulkLimit: 20 },
  { name: 'notes', objectType: 'note', idParam: 'note_id', label: 'Note', count: 'note_count', metadataBulkLimit: 100 },
  { name: 'assets', objectType: 'asset', idParam: 'asset_id', label: 'Asset', count: 'asset_count', metadataBulkLimit: 100 },
] as const;
export type ChildKind = (typeof CHILD_KINDS)[number];
export type ChildKindName = ChildKind['name'];
export type ChildObjectType = ChildKind['objectType'];
export type ChildCountKey = ChildKind['count'];
/** What the audit trail records changes of: the threat model and each kind of child. */
export const OBJECT_TYPES = ['threat_model', ...CHILD_KINDS.map((k) => k.objectType)] as const satisfies readonly string[];
export type ObjectType = 'threat_model' | ChildObjectType;

// ---- collaboration ------------------------------------------------------------------------------

/** Cell operations in one diagram_operation_request. */
export const MAX_CELL_OPS = 1000;

/** Close codes of the collaboration WebSocket. */
export const CLOSE = {
  normal: 1000,
  tooBig: 1009,
  policy: 1008,
  /** A limit is reached for now (a client that cannot keep up; a cap reached in a race). */
  tryAgainLater: 1013,
  /**
   * The access token or sign-in session that opened the socket was revoked (sign-out, refresh-token
   * reuse, RFC 7009 revocation): sign in again. The reference defines 4401 for an expired token.
   */
  sessionRevoked: 4401,
  /** The user lost read access to the threat model. */
  accessRevoked: 4403,
} as const;

/** Model file formats of import and export (TMI-TS extension, docs/reports.md). */
export const IMPORT_FORMATS = ['tmi-json', 'threat-dragon', 'otm', 'tm7', 'threagile'] as const;
export const EXPORT_FORMATS = ['tmi-json', 'threat-dragon', 'otm'] as const;
export type ImportFormatName = (typeof IMPORT_FORMATS)[number];
export type ExportFormatName = (typeof EXPORT_FORMATS)[number];
/** Media types a model file may be sent as (the format is read from the text, not from these). */
export const IMPORT_MEDIA_TYPES = ['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml', 'application/xml', 'text/xml', 'text/plain', 'application/octet-stream'];
