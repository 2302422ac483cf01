// Notes of a threat model: /threat_models/{id}/notes (the list leaves out each note's content).
import type { ListNotesResponse, Note, NoteInput } from '../../../contract/notes.ts';
import { childCollection } from './children.ts';

export const notes = childCollection<ListNotesResponse, Note, NoteInput>('notes');
