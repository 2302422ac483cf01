// The signed-in user, for every page under the shell.
import { createContext, useContext } from 'react';
import type { Role } from '../../contract/common.ts';
import type { ThreatModel } from '../../contract/threat-models.ts';
import type { Me } from './api/session.ts';

export const MeContext = createContext<Me | null>(null);

export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error('not signed in');
  return me;
}

const RANK: Record<Role, number> = { reader: 1, writer: 2, owner: 3 };

/** The caller's effective role on a threat model, from its authorization list (as the server decides). */
export function roleOn(tm: Pick<ThreatModel, 'owner' | 'authorization'>, me: Me): Role | null {
  let best: Role | null = null;
  const consider = (r: Role) => {
    if (!best || RANK[r] > RANK[best]) best = r;
  };
  if (tm.owner.provider === me.provider && tm.owner.provider_id === me.provider_id) consider('owner');
  const groups = new Set(me.groups.map((g) => g.group_name));
  for (const a of tm.authorization) {
    if (a.principal_type === 'user' && ((a.provider === me.provider && a.provider_id === me.provider_id) || (a.email && a.email === me.email))) consider(a.role);
    if (a.principal_type === 'group' && (a.provider_id === 'everyone' || groups.has(a.provider_id))) consider(a.role);
  }
  return best;
}

export const canWrite = (role: Role | null) => role === 'writer' || role === 'owner';
