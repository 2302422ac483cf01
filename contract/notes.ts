// Notes on the wire: NoteInput (POST/PUT), Note, NoteListItem (no content) and the list envelope.
import { Type } from 'typebox';
import { DESCRIPTION_TEXT, MULTILINE_TEXT, Nullable } from './common.ts';
import { NAME, listEnvelope, serverFields } from './children.ts';

export const NOTE_CONTENT_MAX = 262_144;

export const noteFields = {
  name: Type.String({ minLength: 1, maxLength: 256, pattern: NAME }),
  content: Type.String({ minLength: 1, maxLength: NOTE_CONTENT_MAX, pattern: MULTILINE_TEXT }),
  // Not in NoteBase, but NoteListItem has it and the reference stores it.
  description: Type.Optional(Nullable(Type.String({ maxLength: 2048, pattern: DESCRIPTION_TEXT }))),
  include_in_report: Type.Optional(Type.Boolean()),
  timmy_enabled: Type.Optional(Type.Boolean()),
};

export const NoteInput = Type.Object(noteFields);

const common = {
  ...serverFields(false),
  name: Type.String(),
  description: Type.Optional(Nullable(Type.String())),
  include_in_report: Type.Boolean(),
  timmy_enabled: Type.Boolean(),
};
export const Note = Type.Object({ ...common, content: Type.String(), auto_generated: Type.Boolean() });
export const NoteListItem = Type.Object(common, { additionalProperties: false });
export const ListNotesResponse = listEnvelope('notes', NoteListItem);
