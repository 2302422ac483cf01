// Threat suggestions and organisation rule packs on the wire (our extension, docs/compatibility.md):
// what GET /threat_models/{id}/suggestions answers, and the /admin/rule_packs resources.
import { Type, type Static } from 'typebox';
import { DateTime, Uuid } from './common.ts';

export const SUGGESTION_SEVERITIES = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export const SUGGESTION_STATES = ['open', 'dismissed', 'accepted'] as const;

/** A suggestion's id: its rule id and its cell id joined by '~' (stable while both exist). */
export const SUGGESTION_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}~[0-9a-fA-F-]{1,36}$';
export const SuggestionId = Type.String({ pattern: SUGGESTION_ID_PATTERN, maxLength: 101 });
export const PACK_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const PackId = Type.String({ pattern: PACK_ID_PATTERN, maxLength: 64 });

const literalUnion = <T extends string>(values: readonly T[]) => Type.Unsafe<T>(Type.Union(values.map((v) => Type.Literal(v))));

export const Suggestion = Type.Object({
  id: SuggestionId,
  rule_id: Type.String(),
  pack_id: Type.String(),
  title: Type.String(),
  severity: literalUnion(SUGGESTION_SEVERITIES),
  state: literalUnion(SUGGESTION_STATES),
  /** `FRAMEWORK:code` tags, e.g. `STRIDE:S`. */
  tags: Type.Array(Type.String()),
  cwe: Type.Array(Type.String()),
  threat: Type.Object({ name: Type.String(), description: Type.String(), mitigation: Type.String() }),
  diagram_id: Type.String(),
  diagram_name: Type.String(),
  cell_id: Type.String(),
  cell_kind: literalUnion(['actor', 'process', 'store', 'flow'] as const),
  cell_name: Type.String(),
  source_name: Type.Optional(Type.String()),
  target_name: Type.Optional(Type.String()),
  references: Type.Array(Type.Object({ title: Type.String(), url: Type.String() })),
});
export type Suggestion = Static<typeof Suggestion>;

export const SuggestionsQuery = Type.Object(
  {
    state: Type.Optional(Type.Union([literalUnion(SUGGESTION_STATES), Type.Literal('all')], { description: 'Which suggestions to list (default open)' })),
    diagram_id: Type.Optional(Uuid),
    cell_id: Type.Optional(Type.String({ maxLength: 36, pattern: '^[0-9a-fA-F-]{1,36}$' })),
  },
  { additionalProperties: false },
);

export const SuggestionList = Type.Object({
  suggestions: Type.Array(Suggestion),
  total: Type.Integer(),
  /** Open suggestions per severity, whatever `state` asked for. */
  open_by_severity: Type.Record(Type.String(), Type.Integer()),
  /** The packs evaluated: built-in, configured and uploaded ones. */
  packs: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), version: Type.String(), source: Type.String() })),
});

export const SuggestionParams = Type.Object({ threat_model_id: Uuid, suggestion: SuggestionId });

export const RULE_PACK_SOURCES = ['builtin', 'config', 'uploaded'] as const;

export const RulePackSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: Type.String(),
  description: Type.Optional(Type.String()),
  source: literalUnion(RULE_PACK_SOURCES),
  rule_count: Type.Integer(),
  created_at: Type.Optional(DateTime),
  modified_at: Type.Optional(DateTime),
});
export type RulePackSummary = Static<typeof RulePackSummary>;

export const RulePackList = Type.Object({ rule_packs: Type.Array(RulePackSummary), total: Type.Integer() });

/** A rule pack as docs/rules.md describes it; the server validates it in full (rules/pack.ts). */
export const RulePackDocument = Type.Object(
  {
    id: PackId,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    version: Type.String({ minLength: 1, maxLength: 32 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    rules: Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 2000 }),
  },
  { additionalProperties: false, description: 'A rule pack (docs/rules.md); every rule is validated against the rule schema' },
);

export const RulePackDetail = Type.Object({ ...RulePackSummary.properties, pack: RulePackDocument });

export const RulePackParams = Type.Object({ pack: PackId });
