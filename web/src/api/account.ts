// The signed-in person's account: linked identities (/me/identities*) and service-account
// credentials (/me/client_credentials*). Starting a link is in session.ts (it leaves the page).
import type {
  ClientCredentialCreate,
  ClientCredentialList,
  ClientCredentialResponse,
  LinkedIdentity,
  MyIdentities,
  PendingIdentityLink,
} from '../../../contract/auth.ts';
import { api, url } from './client.ts';

export type { ClientCredentialInfo, ClientCredentialResponse, LinkedIdentity, MyIdentities, PendingIdentityLink } from '../../../contract/auth.ts';

export const identities = {
  list: (signal?: AbortSignal) => api.get<MyIdentities>('/me/identities', signal),
  pending: (token: string, signal?: AbortSignal) => api.get<PendingIdentityLink>(url`/me/identities/link/pending/${token}`, signal),
  confirm: (token: string) => api.post<LinkedIdentity>('/me/identities/link/confirm', { token }),
  unlink: (id: string) => api.del(url`/me/identities/${id}`),
};

/** The server's page size limit for credentials; one page holds every credential a person keeps. */
const PAGE = 100;

export const clientCredentials = {
  list: (signal?: AbortSignal) => api.get<ClientCredentialList>(`/me/client_credentials?limit=${PAGE}&offset=0`, signal),
  create: (body: ClientCredentialCreate) => api.post<ClientCredentialResponse>('/me/client_credentials', body),
  remove: (id: string) => api.del(url`/me/client_credentials/${id}`),
};
