// GET /principals (TMI-TS extension, docs/compatibility.md): people and groups found by name or
// e-mail as someone types, for the sharing dialog. Each match carries exactly the fields of an
// authorization entry (no internal ids), so a client adds it to an access list as it came.
import { Type, type Static } from 'typebox';
import { PrincipalType } from './common.ts';
import { NO_CONTROL, PRINCIPAL_SEARCH } from './limits.ts';

export const PrincipalSearchQuery = Type.Object(
  {
    q: Type.String({
      minLength: PRINCIPAL_SEARCH.minQuery,
      maxLength: PRINCIPAL_SEARCH.maxQuery,
      pattern: NO_CONTROL,
      description: `Part of a name or e-mail (at least ${PRINCIPAL_SEARCH.minQuery} characters besides spaces); % and _ are literal`,
    }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PRINCIPAL_SEARCH.maxLimit, default: PRINCIPAL_SEARCH.defaultLimit })),
    principal_type: Type.Optional(PrincipalType),
  },
  { additionalProperties: false },
);
export type PrincipalSearchQuery = Static<typeof PrincipalSearchQuery>;

export const PrincipalMatch = Type.Object({
  principal_type: PrincipalType,
  provider: Type.String(),
  provider_id: Type.String(),
  display_name: Type.String(),
  /** Users only. */
  email: Type.Optional(Type.String()),
});
export type PrincipalMatch = Static<typeof PrincipalMatch>;

export const PrincipalSearchResult = Type.Object({ principals: Type.Array(PrincipalMatch) });
export type PrincipalSearchResult = Static<typeof PrincipalSearchResult>;
