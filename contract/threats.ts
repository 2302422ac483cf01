// Threats on the wire: ThreatInput (POST/PUT), Threat, the list envelope and query, and the bulk
// shapes. Limits and patterns as the reference contract (ThreatBase, Threat, BulkPatchRequest).
import { Type, type Static } from 'typebox';
import { DateTime, JsonPatchDocument, Literals, Metadata, Nullable, Paging, Uuid } from './common.ts';
import { BulkId, OPTIONAL_UUID, listEnvelope, serverFields } from './children.ts';
import { NO_CONTROL, SCORE, THREAT_TEXT } from './limits.ts';

const Score = Type.Number(SCORE);

export const CvssScore = Type.Object(
  { vector: Type.String(THREAT_TEXT.cvss_vector), score: Score },
  { additionalProperties: false },
);
export const SsvcScore = Type.Object(
  {
    vector: Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9/:._-]+$' }),
    decision: Literals(['Defer', 'Scheduled', 'Out-of-Cycle', 'Immediate']),
    methodology: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9 _-]+$' }),
  },
  { additionalProperties: false },
);

export const threatFields = {
  name: Type.String(THREAT_TEXT.name),
  description: Type.Optional(Nullable(Type.String(THREAT_TEXT.description))),
  mitigation: Type.Optional(Nullable(Type.String(THREAT_TEXT.mitigation))),
  diagram_id: Type.Optional(Nullable(OPTIONAL_UUID)),
  cell_id: Type.Optional(Nullable(OPTIONAL_UUID)),
  asset_id: Type.Optional(Nullable(OPTIONAL_UUID)),
  severity: Type.Optional(Nullable(Type.String(THREAT_TEXT.severity))),
  score: Type.Optional(Score),
  priority: Type.Optional(Nullable(Type.String(THREAT_TEXT.priority))),
  mitigated: Type.Optional(Type.Boolean()),
  status: Type.Optional(Nullable(Type.String(THREAT_TEXT.status))),
  threat_type: Type.Array(Type.String(THREAT_TEXT.threat_type), { maxItems: 20, uniqueItems: true }),
  metadata: Type.Optional(Nullable(Type.Array(Metadata, { maxItems: 100 }))),
  issue_uri: Type.Optional(Nullable(Type.String(THREAT_TEXT.issue_uri))),
  cwe_id: Type.Optional(Type.Array(Type.String(THREAT_TEXT.cwe_id), { maxItems: 50, uniqueItems: true })),
  cvss: Type.Optional(Type.Array(CvssScore, { maxItems: 10 })),
  ssvc: Type.Optional(Nullable(SsvcScore)),
  include_in_report: Type.Optional(Type.Boolean()),
  timmy_enabled: Type.Optional(Type.Boolean()),
};

/** ThreatBase: open, as the contract (unknown fields are ignored). */
export const ThreatInput = Type.Object(threatFields);
export type ThreatInput = Static<typeof ThreatInput>;
export const ThreatBulkUpdateItem = Type.Object({ ...threatFields, id: BulkId });
export const ThreatBulkCreateItem = Type.Object({ ...threatFields, id: Type.Optional(BulkId) });

export const Threat = Type.Object({
  ...serverFields(true),
  threat_model_id: Uuid,
  name: Type.String(),
  description: Type.Optional(Nullable(Type.String())),
  mitigation: Type.Optional(Nullable(Type.String())),
  diagram_id: Type.Optional(Nullable(Type.String())),
  cell_id: Type.Optional(Nullable(Type.String())),
  asset_id: Type.Optional(Nullable(Type.String())),
  severity: Type.Optional(Nullable(Type.String())),
  score: Type.Optional(Type.Number()),
  priority: Type.Optional(Nullable(Type.String())),
  mitigated: Type.Optional(Type.Boolean()),
  status: Type.Optional(Nullable(Type.String())),
  threat_type: Type.Array(Type.String()),
  issue_uri: Type.Optional(Nullable(Type.String())),
  cwe_id: Type.Optional(Type.Array(Type.String())),
  cvss: Type.Optional(Type.Array(Type.Object({ vector: Type.String(), score: Type.Number() }))),
  ssvc: Type.Optional(Nullable(Type.Object({ vector: Type.String(), decision: Type.String(), methodology: Type.String() }))),
  include_in_report: Type.Boolean(),
  timmy_enabled: Type.Boolean(),
  auto_generated: Type.Boolean(),
});
export type Threat = Static<typeof Threat>;

export const ListThreatsResponse = listEnvelope('threats', Threat);
export type ListThreatsResponse = Static<typeof ListThreatsResponse>;

const Many = (item = Type.String({ maxLength: 256 })) => Type.Optional(Type.Union([item, Type.Array(item, { maxItems: 50 })]));
const ScoreFilter = Type.Optional(Type.Number({ minimum: 0, maximum: 10 }));
export const ListThreatsQuery = Type.Object({
  ...Paging,
  sort: Type.Optional(Type.String({ maxLength: 1000, pattern: NO_CONTROL })),
  name: Type.Optional(Type.String({ maxLength: 256, pattern: NO_CONTROL })),
  description: Type.Optional(Type.String({ maxLength: 1000, pattern: NO_CONTROL })),
  threat_type: Many(),
  severity: Many(Type.String({ maxLength: 50 })),
  priority: Many(),
  status: Many(),
  mitigated: Type.Optional(Type.Boolean()),
  diagram_id: Type.Optional(Uuid),
  cell_id: Type.Optional(Uuid),
  score_gt: ScoreFilter,
  score_lt: ScoreFilter,
  score_eq: ScoreFilter,
  score_ge: ScoreFilter,
  score_le: ScoreFilter,
  created_after: Type.Optional(DateTime),
  created_before: Type.Optional(DateTime),
  modified_after: Type.Optional(DateTime),
  modified_before: Type.Optional(DateTime),
  include_deleted: Type.Optional(Type.Boolean()),
});
export type ListThreatsQuery = Static<typeof ListThreatsQuery>;

export const BulkPatchRequest = Type.Object(
  {
    patches: Type.Array(Type.Object({ id: BulkId, operations: JsonPatchDocument }, { additionalProperties: false }), { minItems: 1, maxItems: 20 }),
  },
  { additionalProperties: false },
);
export type BulkPatchRequest = Static<typeof BulkPatchRequest>;

/** `threat_ids=a,b` (form, explode=false); a repeated parameter is accepted too. */
export const BulkDeleteThreatsQuery = Type.Object({
  threat_ids: Type.Union([Type.String({ minLength: 1, maxLength: 20 * 37 }), Type.Array(Type.String({ maxLength: 20 * 37 }), { minItems: 1, maxItems: 20 })]),
});
export const BulkDeleteThreatsResponse = Type.Object(
  { deleted_count: Type.Integer(), deleted_ids: Type.Array(Uuid) },
  { additionalProperties: false },
);
