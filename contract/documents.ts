// Documents on the wire: DocumentInput (POST/PUT), Document, bulk items and the list envelope
// (reference DocumentBase). The content-access pipeline is not run: access_status stays 'unknown'.
import { Type, type Static } from 'typebox';
import { Literals, Nullable } from './common.ts';
import { BulkId, listEnvelope, serverFields } from './children.ts';
import { DOCUMENT_TEXT } from './limits.ts';

export const PickerRegistration = Type.Object(
  {
    provider_id: Type.Union([Type.Literal('google_workspace'), Type.Literal('microsoft')]),
    file_id: Type.String({ minLength: 1, maxLength: 255 }),
    mime_type: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { additionalProperties: false },
);

export const documentFields = {
  name: Type.String(DOCUMENT_TEXT.name),
  uri: Type.String(DOCUMENT_TEXT.uri),
  description: Type.Optional(Nullable(Type.String(DOCUMENT_TEXT.description))),
  include_in_report: Type.Optional(Type.Boolean()),
  timmy_enabled: Type.Optional(Type.Boolean()),
};

/** Input-only: validated wherever a document is written (single or bulk), never stored. */
const pickerRegistration = { picker_registration: Type.Optional(Nullable(PickerRegistration)) };

export const DocumentInput = Type.Object({ ...documentFields, ...pickerRegistration });
export type DocumentInput = Static<typeof DocumentInput>;
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
  access_status: Literals(ACCESS_STATUSES),
  content_source: Type.Optional(Nullable(Type.String())),
  access_status_updated_at: Type.Optional(Nullable(Type.String())),
});
export type Document = Static<typeof Document>;
export const ListDocumentsResponse = listEnvelope('documents', Document);
export type ListDocumentsResponse = Static<typeof ListDocumentsResponse>;
