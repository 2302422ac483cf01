// GET /principals (our extension; the reference has no directory search for non-administrators):
// people and groups whose name or e-mail contains what someone typed, for the sharing dialog.
//
// Privacy and safety:
// - signed-in people only, not service accounts: the answer lists people's names and e-mails, an
//   automation client already knows the ids it shares with, and a leaked client secret should not
//   be a way to read the directory;
// - only accounts that can be shared with usefully: active, signed in at least once (a placeholder
//   made by typing an id into a sharing dialog is nobody's verified identity), not automation
//   accounts; deleted accounts are gone from the table;
// - the typed text is a bound parameter and its % _ \ are literal (server/store/like.ts);
// - each match carries only the fields of an authorization entry, never an internal id;
// - the per-user API rate limit applies as to every route.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../context.ts';
import { badRequest } from '../http/errors.ts';
import { ErrorBody } from '../../contract/common.ts';
import { PRINCIPAL_SEARCH } from '../../contract/limits.ts';
import { PrincipalSearchQuery, PrincipalSearchResult, type PrincipalMatch } from '../../contract/principals.ts';
import { principalOf } from '../auth/authenticate.ts';
import { requireInteractive } from '../auth/guards.ts';
import { likeContains, likePrefix } from '../store/like.ts';

interface MatchRow {
  principal_type: 'user' | 'group';
  provider: string;
  provider_id: string;
  display_name: string;
  email: string | null;
  rank: number;
}

// Prefix matches first, then the rest, each by name. Users and groups in one ranked list.
const SEARCH_SQL = `
  SELECT principal_type, provider, provider_id, display_name, email, rank FROM (
    SELECT 'user' AS principal_type, u.provider, coalesce(u.provider_user_id, u.email) AS provider_id,
           coalesce(nullif(u.name, ''), u.email) AS display_name, u.email,
           CASE WHEN u.name ILIKE $2 OR u.email ILIKE $2 THEN 0 ELSE 1 END AS rank
    FROM users u
    WHERE $4 AND u.active AND NOT u.automation AND u.last_login IS NOT NULL
      AND (u.name ILIKE $1 OR u.email ILIKE $1)
    UNION ALL
    SELECT 'group', g.provider, g.group_name, coalesce(nullif(g.name, ''), g.group_name), NULL,
           CASE WHEN g.group_name ILIKE $2 OR g.name ILIKE $2 THEN 0 ELSE 1 END
    FROM groups g
    WHERE $5 AND (g.group_name ILIKE $1 OR g.name ILIKE $1)
  ) m
  ORDER BY rank, lower(display_name), provider, provider_id
  LIMIT $3`;

export function directoryRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/principals',
    {
      preValidation: requireInteractive('search the directory of people and groups'),
      schema: {
        tags: ['Sharing'],
        operationId: 'searchPrincipals',
        description:
          'TMI-TS extension: people (active accounts that have signed in) and groups (TMI groups, `everyone`, provider groups the server knows) whose name or e-mail contains `q`, each with the fields of an authorization entry.',
        querystring: PrincipalSearchQuery,
        response: { 200: PrincipalSearchResult, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const text = request.query.q.trim();
      if ([...text].length < PRINCIPAL_SEARCH.minQuery) throw badRequest(`q needs at least ${PRINCIPAL_SEARCH.minQuery} characters besides spaces`);
      const limit = request.query.limit ?? PRINCIPAL_SEARCH.defaultLimit;
      const type = request.query.principal_type;
      const rows = await ctx.db.query<MatchRow>(SEARCH_SQL, [likeContains(text), likePrefix(text), limit, type !== 'group', type !== 'user'], 'principal_search');
      // The caller's own groups from their provider match too, even before anyone shared with them.
      const needle = text.toLowerCase();
      if (type !== 'user') {
        for (const name of p.idpGroups) {
          const at = name.toLowerCase().indexOf(needle);
          if (at < 0 || rows.some((m) => m.principal_type === 'group' && m.provider === p.provider && m.provider_id === name)) continue;
          rows.push({ principal_type: 'group', provider: p.provider, provider_id: name, display_name: name, email: null, rank: at === 0 ? 0 : 1 });
        }
      }
      rows.sort((a, b) => a.rank - b.rank || a.display_name.toLowerCase().localeCompare(b.display_name.toLowerCase()));
      const principals: PrincipalMatch[] = rows.slice(0, limit).map((m) => ({
        principal_type: m.principal_type,
        provider: m.provider,
        provider_id: m.provider_id,
        display_name: m.display_name,
        ...(m.principal_type === 'user' && m.email ? { email: m.email } : {}),
      }));
      return { principals };
    },
  );
}
