// Documents of a threat model: /threat_models/{id}/documents.
import type { Document, DocumentInput, ListDocumentsResponse } from '../../../contract/documents.ts';
import { childCollection } from './children.ts';

export const documents = childCollection<ListDocumentsResponse, Document, DocumentInput>('documents');
