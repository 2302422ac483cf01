// Survey templates, survey responses and triage notes on the wire (reference SurveyInput/Survey/
// SurveyListItem, SurveyResponseCreateRequest/SurveyResponseInput/SurveyResponse/
// SurveyResponseListItem, TriageNoteInput/TriageNote/TriageNoteListItem).
import { Type, type Static } from 'typebox';
import { Authorization, DateTime, Literals, Metadata, Nullable, User, Uuid } from './common.ts';
import { SAFE_NAME } from './limits.ts';

export const SURVEY_STATUSES = ['active', 'inactive', 'archived'] as const;
export const RESPONSE_STATUSES = ['draft', 'submitted', 'needs_revision', 'ready_for_review', 'review_created'] as const;
export type ResponseStatus = (typeof RESPONSE_STATUSES)[number];

/** Bounds of a survey definition: its serialised size, pages, questions and nesting. */
export const SURVEY_JSON_LIMITS = { bytes: 256 * 1024, pages: 100, elements: 2000, depth: 8 } as const;
/** Bounds of a response's answers and UI state (serialised). */
export const ANSWERS_MAX_BYTES = 512 * 1024;
export const UI_STATE_MAX_BYTES = 16 * 1024;

const FreeObject = Type.Record(Type.String(), Type.Unknown());

export const SurveySettings = Type.Object({ allow_threat_model_linking: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

export const SurveyInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256, pattern: SAFE_NAME }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2048, pattern: '^[^<>\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]*$' }))),
    version: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9._-]+$' }),
    status: Type.Optional(Nullable(Literals(SURVEY_STATUSES))),
    settings: Type.Optional(SurveySettings),
    survey_json: FreeObject,
  },
  { additionalProperties: false },
);
export type SurveyInput = Static<typeof SurveyInput>;

export const Survey = Type.Object({
  ...SurveyInput.properties,
  id: Uuid,
  status: Literals(SURVEY_STATUSES),
  settings: Type.Object({ allow_threat_model_linking: Type.Boolean() }),
  created_at: DateTime,
  modified_at: DateTime,
  created_by: Type.Optional(Nullable(User)),
  metadata: Type.Array(Metadata),
});
export type Survey = Static<typeof Survey>;

export const SurveyListItem = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.Optional(Nullable(Type.String())),
    version: Type.String(),
    status: Type.String(),
    created_at: DateTime,
    modified_at: DateTime,
    created_by: Type.Optional(Nullable(User)),
  },
  { additionalProperties: false },
);
export const ListSurveysResponse = Type.Object(
  { surveys: Type.Array(SurveyListItem), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() },
  { additionalProperties: false },
);
const paging = (max: number) => ({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: max, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
});
export const ListSurveysQuery = Type.Object({ ...paging(100), status: Type.Optional(Type.String({ maxLength: 128 })) });
export type ListSurveysQuery = Static<typeof ListSurveysQuery>;
export const DeleteSurveyQuery = Type.Object({ force: Type.Optional(Type.Boolean()) });

const responseFields = {
  survey_id: Uuid,
  answers: Type.Optional(FreeObject),
  linked_threat_model_id: Type.Optional(Nullable(Uuid)),
  authorization: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 1000 })),
  ui_state: Type.Optional(Nullable(FreeObject)),
  project_id: Type.Optional(Nullable(Type.Union([Uuid, Type.Literal('')]))),
};
export const SurveyResponseCreate = Type.Object({ ...responseFields, is_confidential: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export type SurveyResponseCreate = Static<typeof SurveyResponseCreate>;
export const SurveyResponseInput = Type.Object(responseFields, { additionalProperties: false });
export type SurveyResponseInput = Static<typeof SurveyResponseInput>;

export const SurveyResponse = Type.Object({
  id: Uuid,
  survey_id: Uuid,
  survey_version: Type.String(),
  survey_json: FreeObject,
  status: Literals(RESPONSE_STATUSES),
  is_confidential: Type.Boolean(),
  answers: FreeObject,
  ui_state: Nullable(FreeObject),
  linked_threat_model_id: Nullable(Uuid),
  created_threat_model_id: Nullable(Uuid),
  project_id: Nullable(Uuid),
  revision_notes: Nullable(Type.String()),
  owner: Nullable(User),
  reviewed_by: Nullable(User),
  submitted_at: Nullable(DateTime),
  reviewed_at: Nullable(DateTime),
  created_at: DateTime,
  modified_at: DateTime,
  authorization: Type.Array(Authorization),
  metadata: Type.Array(Metadata),
  version: Type.Integer(),
});
export type SurveyResponse = Static<typeof SurveyResponse>;

export const SurveyResponseListItem = Type.Object(
  {
    id: Uuid,
    survey_id: Uuid,
    survey_name: Type.Optional(Type.String()),
    survey_version: Type.Optional(Type.String()),
    status: Type.String(),
    is_confidential: Type.Boolean(),
    owner: Type.Optional(Nullable(User)),
    project_id: Type.Optional(Nullable(Uuid)),
    created_threat_model_id: Type.Optional(Nullable(Uuid)),
    reviewed_by: Type.Optional(Nullable(User)),
    created_at: DateTime,
    submitted_at: Type.Optional(Nullable(DateTime)),
    modified_at: DateTime,
  },
  { additionalProperties: false },
);
export const ListSurveyResponsesResponse = Type.Object(
  { survey_responses: Type.Array(SurveyResponseListItem), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() },
  { additionalProperties: false },
);
export const ListSurveyResponsesQuery = Type.Object({
  ...paging(100),
  status: Type.Optional(Type.String({ maxLength: 256 })),
  survey_id: Type.Optional(Uuid),
  is_confidential: Type.Optional(Type.Boolean()),
});
export type ListSurveyResponsesQuery = Static<typeof ListSurveyResponsesQuery>;

export const TriageNoteInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256, pattern: SAFE_NAME }),
    content: Type.String({ minLength: 1, maxLength: 32_768, pattern: '^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]*$' }),
  },
  { additionalProperties: false },
);
export type TriageNoteInput = Static<typeof TriageNoteInput>;
const triageListFields = { id: Type.Integer({ minimum: 1 }), name: Type.String(), created_at: DateTime, created_by: Nullable(User) };
export const TriageNoteListItem = Type.Object(triageListFields, { additionalProperties: false });
export const TriageNote = Type.Object({ ...triageListFields, content: Type.String(), modified_at: DateTime, modified_by: Nullable(User) }, { additionalProperties: false });
export const ListTriageNotesResponse = Type.Object(
  { triage_notes: Type.Array(TriageNoteListItem), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() },
  { additionalProperties: false },
);
export const TriageNotesQuery = Type.Object(paging(100));
export const TriageNoteParams = Type.Object({ survey_response_id: Uuid, triage_note_id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });

export const CreateThreatModelFromSurveyResponse = Type.Object(
  { threat_model_id: Uuid, survey_response_id: Uuid },
  { additionalProperties: false },
);
