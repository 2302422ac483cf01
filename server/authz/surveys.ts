// Who may do what with a survey response (reference tmi-admin-review-notes §2.3-2.6, with the
// fixes of §2.8), as data. The parties to a response:
// - `author`: who filled it;
// - `reviewer`: a member of the reviewer group of the response (`security-reviewers`, or
//   `confidential-project-reviewers` for a confidential one) who is not its author;
// - `administrator`: an administrator who is not its author;
// - `team`: a member of the team of the response's project.
// Anyone else is told the response does not exist (404), as the reference does.
import { forbidden, notFound } from '../http/errors.ts';
import type { ResponseStatus } from '../../contract/surveys.ts';
import { BUILT_IN_GROUPS } from './index.ts';

export type ResponseParty = 'author' | 'reviewer' | 'administrator' | 'team';
export type ResponseAction =
  | 'read'
  | 'edit'
  | 'submit'
  | 'delete'
  | 'write_metadata'
  | 'triage'
  | 'write_triage_note'
  | 'create_threat_model';

export const RESPONSE_RULES: Record<ResponseAction, readonly ResponseParty[]> = {
  read: ['author', 'reviewer', 'administrator', 'team'],
  edit: ['author'],
  submit: ['author'],
  delete: ['author', 'administrator'],
  write_metadata: ['author', 'reviewer', 'administrator'],
  triage: ['reviewer', 'administrator'],
  write_triage_note: ['reviewer', 'administrator'],
  create_threat_model: ['reviewer', 'administrator'],
};

/** The statuses in which the author may change the answers. */
export const EDITABLE_STATUSES: readonly ResponseStatus[] = ['draft', 'needs_revision'];

/** Status changes: who makes them, from which status. `review_created` is create_threat_model's alone. */
export const TRANSITIONS: readonly { from: readonly ResponseStatus[]; to: ResponseStatus; action: ResponseAction }[] = [
  { from: ['draft', 'needs_revision'], to: 'submitted', action: 'submit' },
  { from: ['submitted', 'needs_revision'], to: 'ready_for_review', action: 'triage' },
  { from: ['submitted', 'ready_for_review'], to: 'needs_revision', action: 'triage' },
];

export interface ResponseFacts {
  ownerUuid: string | null;
  isConfidential: boolean;
  /** Members of the team of the response's project. */
  teamMember: boolean;
}

export interface ResponseCaller {
  userUuid: string;
  tmiGroupIds: readonly string[];
  administrator: boolean;
}

export function partiesOf(r: ResponseFacts, c: ResponseCaller): Set<ResponseParty> {
  const out = new Set<ResponseParty>();
  const author = r.ownerUuid !== null && r.ownerUuid === c.userUuid;
  if (author) out.add('author');
  const group = r.isConfidential ? BUILT_IN_GROUPS.confidentialProjectReviewers : BUILT_IN_GROUPS.securityReviewers;
  if (!author && c.tmiGroupIds.includes(group)) out.add('reviewer');
  if (!author && c.administrator) out.add('administrator');
  if (r.teamMember) out.add('team');
  return out;
}

/** Whether a caller can be a reviewer of some response (the triage queue is theirs). */
export function isReviewerOrAdministrator(c: ResponseCaller): boolean {
  return c.administrator || c.tmiGroupIds.includes(BUILT_IN_GROUPS.securityReviewers) || c.tmiGroupIds.includes(BUILT_IN_GROUPS.confidentialProjectReviewers);
}

export function mayOnResponse(action: ResponseAction, parties: Set<ResponseParty>): boolean {
  return RESPONSE_RULES[action].some((p) => parties.has(p));
}

/** 404 for a caller who may not even read the response; 403 for one who may read but not act. */
export function authorizeResponse(action: ResponseAction, parties: Set<ResponseParty>): void {
  if (!mayOnResponse('read', parties)) throw notFound('Survey response not found');
  if (!mayOnResponse(action, parties)) {
    throw forbidden(
      RESPONSE_RULES[action].includes('author') && RESPONSE_RULES[action].length === 1
        ? 'Only the author of the survey response can do this'
        : 'Only a security reviewer or an administrator who is not the author of the survey response can do this',
    );
  }
}
