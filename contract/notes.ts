// Notes on the wire: NoteInput (POST/PUT), Note, NoteListItem (no content) and the list envelope.
import { Type, type Static } from 'typebox';
import { Nullable } from './common.ts';
import { listEnvelope, serverFields } from './children.ts';
import { NOTE_TEXT } from './limits.ts';

export const noteFields = {
  name: Type.String(NOTE_TEXT.name),
  content: Type.String(NOTE_TEXT.content),
  // Not in NoteBase, but NoteListItem has it and the reference stores it.
  description: Type.Optional(Nullable(Type.String(NOTE_TEXT.description))),
  include_in_report: Type.Optional(Type.Boolean()),
  timmy_enabled: Type.Optional(Type.Boolean()),
};

export const NoteInput = Type.Object(noteFields);
export type NoteInput = Static<typeof NoteInput>;

const common = {
  ...serverFields(false),
  name: Type.String(),
  description: Type.Optional(Nullable(Type.String())),
  include_in_report: Type.Boolean(),
  timmy_enabled: Type.Boolean(),
};
export const Note = Type.Object({ ...common, content: Type.String(), auto_generated: Type.Boolean() });
export type Note = Static<typeof Note>;
export const NoteListItem = Type.Object(common, { additionalProperties: false });
export type NoteListItem = Static<typeof NoteListItem>;
export const ListNotesResponse = listEnvelope('notes', NoteListItem);
export type ListNotesResponse = Static<typeof ListNotesResponse>;
