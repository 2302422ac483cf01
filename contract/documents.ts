// Documents on the wire: DocumentInput (POST/PUT), Document, bulk items and the list envelope
// (reference DocumentBase). The content-access pipeline is not run: access_status stays 'unknown'.
import { Type } from 'typebox';
import { DESCRIPTION_TEXT, Nullable } from './common.ts';
import { ANY_URI, BulkId, NAME, listEnvelope, serverFields } from './children.ts';

export const PickerRegistration = Type.Object(
  {
    provider_id: Type.Union([Type.Literal('google_workspace'), Type.Literal('microsoft')]),
    file_id: Type.String({ minLength: 1, maxLength: 255 }),
    mime_type: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { additionalProperties: false },
);

export const documentFields = {
  name: Type.String({ minLength: 1, maxLength: 256, pattern: NAME }),
  uri: Type.String({ minLength: 1, maxLength: 1000, pattern: ANY_URI }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 2048, pattern: DESCRIPTION_TEXT }))),
  include_in_report: Type.Optional(Type.Boolean()),
  timmy_enabled: Type.Optional(Type.Boolean()),
};

/** Input-only: validated wherever a document is written (single or bulk), never stored. */
const pickerRegistration = { picker_registration: Type.Optional(Nullable(PickerRegistration)) };

export const DocumentInput = Type.Object({ ...documentFields, ...pickerRegistration });
export const DocumentBulkCreateItem = Type.Object({ ...documentFields, ...pickerRegistration, id: Type.Optional(BulkId) });
export const DocumentBulkUpdateItem = Type.Object({ ...documentFields, ...pickerRegistration, id: BulkId });

export const ACCESS_STATUSES = ['accessible', 'pending_access', 'auth_required', 'extraction_failed', 'unknown'] as const;

export const Document = Type.Object({
  ...serverFields(true),
  name: Type.String(),
  uri: Type.String(),
  description: Type.Optional(Nullable(Type.String())),
  include_in_report: Type.Boolean(),
  timmy_enabled: Type.Boolean(),
  access_status: Type.Union(ACCESS_STATUSES.map((s) => Type.Literal(s))),
  content_source: Type.Optional(Nullable(Type.String())),
  access_status_updated_at: Type.Optional(Nullable(Type.String())),
});
export const ListDocumentsResponse = listEnvelope('documents', Document);
