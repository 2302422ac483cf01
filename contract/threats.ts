// Threats on the wire: ThreatInput (POST/PUT), Threat, the list envelope and query, and the bulk
// shapes. Limits and patterns as the reference contract (ThreatBase, Threat, BulkPatchRequest).
import { Type, type Static } from 'typebox';
import { DateTime, ISSUE_URI, JsonPatchDocument, Metadata, MULTILINE_TEXT, DESCRIPTION_TEXT, Nullable, Paging, Uuid } from './common.ts';
import { BulkId, NAME, OPTIONAL_UUID, SHORT_TEXT, listEnvelope, serverFields } from './children.ts';

const Score = Type.Number({ minimum: 0, maximum: 10, multipleOf: 0.1 });

export const CvssScore = Type.Object(
  { vector: Type.String({ minLength: 26, maxLength: 250, pattern: '^[A-Za-z0-9.:/_-]+$' }), score: Score },
  { additionalProperties: false },
);
export const SsvcScore = Type.Object(
  {
    vector: Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9/:._-]+$' }),
    decision: Type.Union(['Defer', 'Scheduled', 'Out-of-Cycle', 'Immediate'].map((d) => Type.Literal(d))),
    methodology: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9 _-]+$' }),
  },
  { additionalProperties: false },
);

export const threatFields = {
  name: Type.String({ minLength: 1, maxLength: 256, pattern: NAME }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 2048, pattern: DESCRIPTION_TEXT }))),
  mitigation: Type.Optional(Nullable(Type.String({ maxLength: 1024, pattern: MULTILINE_TEXT }))),
  diagram_id: Type.Optional(Nullable(OPTIONAL_UUID)),
  cell_id: Type.Optional(Nullable(OPTIONAL_UUID)),
  asset_id: Type.Optional(Nullable(OPTIONAL_UUID)),
  severity: Type.Optional(Nullable(Type.String({ maxLength: 50, pattern: SHORT_TEXT }))),
  score: Type.Optional(Score),
  priority: Type.Optional(Nullable(Type.String({ maxLength: 256, pattern: SHORT_TEXT }))),
  mitigated: Type.Optional(Type.Boolean()),
  status: Type.Optional(Nullable(Type.String({ maxLength: 256, pattern: SHORT_TEXT }))),
  threat_type: Type.Array(Type.String({ minLength: 1, maxLength: 256, pattern: SHORT_TEXT }), { maxItems: 20, uniqueItems: true }),
  metadata: Type.Optional(Nullable(Type.Array(Metadata, { maxItems: 100 }))),
  issue_uri: Type.Optional(Nullable(Type.String({ maxLength: 1000, pattern: ISSUE_URI }))),
  cwe_id: Type.Optional(Type.Array(Type.String({ minLength: 5, maxLength: 16, pattern: '^CWE-[0-9]+$' }), { maxItems: 50, uniqueItems: true })),
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

export const ListThreatsResponse = listEnvelope('threats', Threat);

const Many = (item = Type.String({ maxLength: 256 })) => Type.Optional(Type.Union([item, Type.Array(item, { maxItems: 50 })]));
const ScoreFilter = Type.Optional(Type.Number({ minimum: 0, maximum: 10 }));
export const ListThreatsQuery = Type.Object({
  ...Paging,
  sort: Type.Optional(Type.String({ maxLength: 1000, pattern: SHORT_TEXT })),
  name: Type.Optional(Type.String({ maxLength: 256, pattern: SHORT_TEXT })),
  description: Type.Optional(Type.String({ maxLength: 1000, pattern: SHORT_TEXT })),
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
