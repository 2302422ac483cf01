// Factories: users, tokens and threat models written through the services, as the server itself
// writes them, without the HTTP round trips of the browser flow. Only the sign-in tests go through
// authorization code + PKCE (signInWithPkce in app.ts); everything else starts from these.
import { randomBytes } from 'node:crypto';
import type { AppContext } from '../../server/context.ts';
import { devIdentity } from '../../server/auth/providers/tmi.ts';
import { BUILT_IN_GROUPS } from '../../server/authz/index.ts';
import type { ThreatModelInput } from '../../contract/threat-models.ts';

/** A unique user name accepted by the development provider (3-20 of [a-z0-9-]). */
export function uniqueUser(prefix = 'user'): string {
  return `${prefix.slice(0, 10)}-${randomBytes(4).toString('hex')}`;
}

export interface SignedIn {
  user: string;
  accessToken: string;
  refreshToken: string;
  email: string;
}

export interface BuiltUser extends SignedIn {
  /** The account's internal UUID (for group memberships and direct queries). */
  uuid: string;
}

/** Anything that carries the app's context: a TestApp, or the context itself. */
type HasContext = { ctx: AppContext } | AppContext;
const contextOf = (t: HasContext): AppContext => ('ctx' in t ? t.ctx : t);

/**
 * Signs `user` in as the development provider would have vouched for them: the same account,
 * refresh session and access token (claims included) as the OAuth flow, minted by the sign-in service.
 */
export async function signInAs(t: HasContext, user = uniqueUser()): Promise<BuiltUser> {
  const grant = await contextOf(t).signIns.signIn(devIdentity(user));
  return { user, accessToken: grant.accessToken, refreshToken: grant.refreshToken, email: grant.user.email, uuid: grant.user.internal_uuid };
}

export interface UserTraits {
  /** Prefix of the random user name (default "user"). */
  prefix?: string;
  /** Member of the built-in administrators group (the token carries tmi_is_administrator). */
  administrator?: boolean;
  /** Member of the built-in security-reviewers group. */
  securityReviewer?: boolean;
  /** Further built-in groups by UUID (BUILT_IN_GROUPS). */
  groups?: string[];
}

/** A signed-in user with the given memberships; the token is minted after they were granted. */
export async function buildUser(t: HasContext, traits: UserTraits = {}): Promise<BuiltUser> {
  const ctx = contextOf(t);
  const first = await signInAs(ctx, uniqueUser(traits.prefix));
  const groups = [
    ...(traits.administrator ? [BUILT_IN_GROUPS.administrators] : []),
    ...(traits.securityReviewer ? [BUILT_IN_GROUPS.securityReviewers] : []),
    ...(traits.groups ?? []),
  ];
  if (!groups.length) return first;
  for (const g of groups) await ctx.users.addToGroup(ctx.db, g, first.uuid);
  return signInAs(ctx, first.user);
}

type Tuple<T, N extends number, R extends T[] = []> = R['length'] extends N ? R : Tuple<T, N, [T, ...R]>;

/** n users at once, as a tuple: `const [owner, writer, reader, stranger] = await buildUsers(t, 4)`. */
export function buildUsers<N extends number>(t: HasContext, n: N, traits: UserTraits = {}): Promise<Tuple<BuiltUser, N>> {
  return Promise.all(Array.from({ length: n }, () => buildUser(t, traits))) as Promise<Tuple<BuiltUser, N>>;
}

/** The access entry that shares a model with `u` in `role`. */
export const share = (u: SignedIn, role: 'owner' | 'writer' | 'reader') => ({ principal_type: 'user' as const, provider: 'tmi', provider_id: u.user, role });

/**
 * A threat model owned by `owner`, created through the threat model service (the same checks,
 * defaults and audit entry as POST /threat_models). `shares` adds users by role.
 */
export async function buildThreatModel(
  t: HasContext,
  owner: SignedIn,
  input: Partial<ThreatModelInput> & { shares?: [SignedIn, 'owner' | 'writer' | 'reader'][] } = {},
): Promise<{ id: string; version: number; name: string }> {
  const ctx = contextOf(t);
  const { shares = [], ...rest } = input;
  const principal = await ctx.authenticator.principalFor(owner.accessToken);
  const tm = await ctx.threatModels.create(principal, {
    name: `Model ${randomBytes(3).toString('hex')}`,
    ...rest,
    authorization: [...(rest.authorization ?? []), ...shares.map(([u, role]) => share(u, role))],
  } as ThreatModelInput);
  return tm as unknown as { id: string; version: number; name: string };
}
