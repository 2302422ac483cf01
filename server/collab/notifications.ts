// /ws/notifications: threat-model events and session starts, each to the sockets whose user can
// read that threat model (the reference broadcasts to everyone), and a heartbeat. The channel is
// server to client; what clients send is ignored. Its sockets are bound to the credential that
// opened them, like the diagram sockets (closed with 4401 when it is revoked).
import type { WebSocket } from 'ws';
import type { Principal } from '../auth/authenticate.ts';
import type { AppContext } from '../context.ts';
import type { ThreatModelEvent } from '../resources/threat-models/service.ts';
import { can } from '../authz/index.ts';
import { CLOSE } from '../../contract/collab.ts';
import type { NotificationMessage } from '../../contract/collab-messages.ts';
import { CHECKS_AT_ONCE, forEachAtMost, openedWith, type LiveAccess } from './access.ts';
import { notifications } from './protocol.ts';
import { credentialOf, type Credential } from './tickets.ts';

/** A session started (published on the threat-model event channel beside ThreatModelEvent). */
export interface CollabNotice {
  type: 'collaboration_started';
  threatModelId: string;
  name: string;
  actorEmail: string;
  diagramId: string;
  diagramName: string;
  sessionId: string;
}

interface Subscriber {
  ws: WebSocket;
  principal: Principal;
  credential: Credential;
}

export class Notifications {
  private readonly subscribers = new Set<Subscriber>();

  constructor(
    private readonly ctx: Pick<AppContext, 'threatModels'>,
    private readonly access: LiveAccess,
    private readonly report: (err: unknown) => void,
  ) {}

  add(ws: WebSocket, principal: Principal): void {
    const n: Subscriber = { ws, principal, credential: credentialOf(principal) };
    this.subscribers.add(n);
    ws.on('close', () => this.subscribers.delete(n));
    ws.on('error', () => ws.terminate());
    ws.on('message', () => undefined);
    // A revocation announced between the upgrade's authentication and now is caught here.
    void this.recheck(n).catch(this.report);
  }

  /**
   * An event, to each subscriber who may read its threat model: one read of the model's access list
   * for all of them, where a query per socket, all at once, asked the pool for a connection per
   * socket (an instance may hold hundreds). When it cannot be read, nobody is told.
   */
  async publish(e: ThreatModelEvent | CollabNotice): Promise<void> {
    const subscribers = [...this.subscribers];
    const roles = await this.ctx.threatModels
      .rolesAmong(e.threatModelId, subscribers, (n) => n.principal, { includeDeleted: e.type === 'deleted' })
      .catch((err: unknown) => {
        this.report(err);
        return subscribers.map(() => null);
      });
    for (const n of subscribers.filter((_, i) => can(roles[i]!, 'read'))) {
      if (!this.subscribers.has(n)) continue; // dropped (revoked) while the list was read
      if (e.type === 'collaboration_started') send(n, notifications.collaborationStarted(e));
      else {
        send(n, notifications.threatModel(e.type, e));
        if (e.type === 'updated' && e.accessChanged) send(n, notifications.threatModel('shared', e));
      }
    }
  }

  /** The heartbeat, and a look at the revocation store in case an announcement was lost. */
  async heartbeat(): Promise<void> {
    for (const n of this.subscribers) send(n, notifications.heartbeat());
    await forEachAtMost([...this.subscribers], CHECKS_AT_ONCE, (n) => this.recheck(n));
  }

  /** A token or sign-in session was revoked: the sockets it opened go at once. */
  revoked(id: string): void {
    for (const n of [...this.subscribers]) if (openedWith(n.credential, id)) this.drop(n);
  }

  closeAll(): void {
    for (const n of this.subscribers) n.ws.close(1001, 'server shutting down');
  }

  private async recheck(n: Subscriber): Promise<void> {
    if (await this.access.credentialRevoked(n.credential)) this.drop(n);
  }

  /** Out of the set at once (no further events), then closed. */
  private drop(n: Subscriber): void {
    this.subscribers.delete(n);
    n.ws.close(CLOSE.sessionRevoked, 'session revoked');
  }
}

function send(n: Subscriber, m: NotificationMessage): void {
  if (n.ws.readyState === n.ws.OPEN) n.ws.send(JSON.stringify(m));
}
