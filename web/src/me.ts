// The signed-in user, for every page under the shell, and what they may do with a threat model.
// The server decides that (GET /threat_models/{id}/permissions, from server/authz); the app only
// asks, so it offers exactly what the API will accept.
import { createContext, useContext } from 'react';
import type { Ability, ThreatModelPermissions } from '../../contract/threat-models.ts';
import type { Me } from './api/session.ts';
import { threatModels } from './api/threat-models.ts';
import { useLoad } from './ui.tsx';

export const MeContext = createContext<Me | null>(null);

export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error('not signed in');
  return me;
}

export type Permissions = ThreatModelPermissions;

/** The caller's permissions on a threat model; `reload` after a change that may alter them (sharing). */
export function usePermissions(tmId: string) {
  return useLoad((signal) => threatModels.permissions(tmId, signal), [tmId]);
}

/** Whether the permissions allow an ability; false while they are not known. */
export const may = (permissions: Permissions | undefined, ability: Ability): boolean => permissions?.abilities[ability] ?? false;
