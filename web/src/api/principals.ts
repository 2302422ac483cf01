// GET /principals (our extension): people and groups by name or e-mail, for the sharing dialog.
import type { PrincipalMatch, PrincipalSearchResult } from '../../../contract/principals.ts';
import { api, query } from './client.ts';

export type { PrincipalMatch };

export const principals = {
  search: (text: string, opts: { principalType?: 'user' | 'group'; limit?: number } = {}, signal?: AbortSignal) =>
    api.get<PrincipalSearchResult>(`/principals${query({ q: text, principal_type: opts.principalType, limit: opts.limit })}`, signal).then((r) => r.principals),
};
