// Document use cases beyond the generic child ones: re-sending an access request. No content
// source (Google Drive, OneDrive, ...) is configured in this server, so a document never waits for
// access; the request is refused as the contract describes (409, or 422 without a source).
import type { Db } from '../../store/db.ts';
import type { Principal } from '../../auth/authenticate.ts';
import { ApiError, conflict, notFound } from '../../http/errors.ts';
import type { ThreatModelService } from '../threat-models/service.ts';
import { findChild } from '../children/store.ts';
import { documentKind } from './kind.ts';

export async function requestAccess(db: Db, threatModels: ThreatModelService, p: Principal, tmId: string, id: string): Promise<never> {
  await threatModels.accessTo(p, tmId, 'write');
  const row = await findChild(db, documentKind, tmId, id);
  if (!row || row.deleted_at) throw notFound('Document not found');
  if (row.access_status !== 'pending_access') throw conflict('Document is not in pending_access status');
  throw new ApiError(422, 'unprocessable_entity', 'No content source that supports access requests is configured for this document');
}
