// Helpers of the administration and step-up tests: the app with its administrator, aged tokens
// (step-up), service-account tokens, threat models shared with someone.
import { decodeJwt } from 'jose';
import { call, signIn, startTestApp, uniqueUser, type SignedIn, type TestApp, type TestAppOptions } from './app.ts';

export interface AdminApp {
  t: TestApp;
  /** Named in TMI_ADMINISTRATORS, signed in. */
  admin: SignedIn;
  adminUuid: string;
}

/**
 * The app of an administration test file: TMI_ADMINISTRATORS names its administrator (a new user,
 * or `adminName`), who is signed in. `env` is added to the app's environment; the other options
 * are startTestApp's (freshDatabase for files that count administrators or system audit entries).
 *   beforeAll(async () => ({ t, admin } = await startAdminApp()));
 *   afterAll(async () => t?.close());
 */
export async function startAdminApp(opts: TestAppOptions & { env?: Record<string, string>; adminName?: string } = {}): Promise<AdminApp> {
  const { env = {}, adminName = uniqueUser('admin'), ...appOptions } = opts;
  const t = await startTestApp({ TMI_ADMINISTRATORS: `tmi:${adminName}`, ...env }, appOptions);
  const admin = await signIn(t.app, adminName);
  return { t, admin, adminUuid: await uuidOf(t, admin) };
}

/** An access token of the same account and session whose sign-in was `ageSeconds` ago. */
export async function agedToken(t: TestApp, token: string, ageSeconds: number): Promise<string> {
  const c = decodeJwt(token) as Record<string, unknown>;
  const found = await t.ctx.users.forToken(c.idp as string, c.sub as string);
  const m = await t.ctx.users.builtInMemberships(found!.user.internal_uuid);
  const { token: aged } = await t.ctx.tokens.sign(
    {
      provider: c.idp as string,
      providerUserId: c.sub as string,
      email: c.email as string,
      emailVerified: false,
      name: c.name as string,
      groups: (c.groups as string[]) ?? [],
      isAdministrator: m.isAdministrator,
      isSecurityReviewer: m.isSecurityReviewer,
    },
    { sessionId: c.sid as string, authTime: Math.floor(Date.now() / 1000) - ageSeconds },
  );
  return aged;
}

/** A service-account token of `owner` (who must be an administrator or a security reviewer). */
export async function serviceAccountToken(t: TestApp, owner: SignedIn): Promise<string> {
  const c = await call(t.app, 'POST', '/me/client_credentials', { token: owner.accessToken, body: { name: `sa ${uniqueUser('c')}` } });
  if (c.status !== 201) throw new Error(`credential: ${c.status} ${c.text}`);
  const res = await call(t.app, 'POST', '/oauth2/token', { body: { grant_type: 'client_credentials', client_id: c.body.client_id, client_secret: c.body.client_secret } });
  if (res.status !== 200) throw new Error(`grant: ${res.status} ${res.text}`);
  return res.body.access_token as string;
}

export async function uuidOf(t: TestApp, s: SignedIn): Promise<string> {
  return (await t.ctx.users.forToken('tmi', s.user))!.user.internal_uuid;
}

/** A threat model of `owner`, shared with the given users. */
export async function modelOf(t: TestApp, owner: SignedIn, name: string, shares: { user: SignedIn; role: 'reader' | 'writer' | 'owner' }[] = []): Promise<string> {
  const res = await call(t.app, 'POST', '/threat_models', {
    token: owner.accessToken,
    body: { name, authorization: shares.map((s) => ({ principal_type: 'user', provider: 'tmi', provider_id: s.user.user, role: s.role })) },
  });
  if (res.status !== 201) throw new Error(`model: ${res.status} ${res.text}`);
  return res.body.id as string;
}

export { signIn, uniqueUser };
