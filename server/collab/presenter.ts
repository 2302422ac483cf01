// The presenter and the host's powers (docs/compatibility.md, Collaboration): asking to present, the host's
// approval or refusal, handing the presenter role over, removing a participant (who may not
// rejoin), the presenter's pointer and selection relayed to the others, and who presents when the
// presenter leaves. The host role itself never moves.
import { CLOSE } from '../../contract/collab.ts';
import type { ClientMessage, UserRef } from '../../contract/collab-messages.ts';
import { errors, messages } from './protocol.ts';
import type { Connection, LocalSession } from './session.ts';
import type * as store from './store.ts';

type RelayMessage = Extract<ClientMessage, { message_type: 'presenter_cursor' | 'presenter_selection' }>;

/** The connected participant a request names; 'spoof' when its e-mail is not that participant's. */
function named(target: UserRef | null | undefined, conns: store.ConnectionRow[]): store.ConnectionRow | null | 'spoof' {
  if (!target) return null;
  const found = conns.find((x) => x.user_json.provider_id === target.provider_id && (!target.provider || x.user_json.provider === target.provider));
  if (!found) return null;
  if (target.email && target.email !== found.user_json.email) return 'spoof';
  return found;
}

/** A participant asks to present: the host becomes presenter at once; anyone else asks the host. */
export async function requestPresenter(c: Connection): Promise<void> {
  const session = c.session;
  const s = await session.row();
  if (!s || s.presenter_uuid === c.userUuid) return;
  if (s.host_uuid === c.userUuid) {
    await session.setPresenter(c.userUuid);
    return session.announceParticipants();
  }
  const conns = await session.liveConnections();
  if (!conns.some((x) => x.user_uuid === s.host_uuid)) return c.send(messages.presenterDenied(c.user));
  await session.publish({ t: 'user', userUuid: s.host_uuid, msg: messages.presenterRequested(c.user) });
}

/** The host names the presenter; anyone else is ignored, as the reference. */
export async function changePresenter(c: Connection, target: UserRef | null | undefined): Promise<void> {
  const session = c.session;
  const s = await session.row();
  if (!s || s.host_uuid !== c.userUuid) return;
  const found = named(target, await session.liveConnections());
  if (found === 'spoof' || !found) return c.send(errors.presenterNotConnected());
  await session.setPresenter(found.user_uuid);
  await session.announceParticipants();
}

/** The host declines a request to present. */
export async function denyPresenter(c: Connection, target: UserRef | null | undefined): Promise<void> {
  const session = c.session;
  const s = await session.row();
  if (!s || s.host_uuid !== c.userUuid) return;
  const found = named(target, await session.liveConnections());
  if (!found || found === 'spoof') return c.send(errors.participantNotConnected());
  await session.publish({ t: 'user', userUuid: found.user_uuid, msg: messages.presenterDenied(found.user_json) });
}

/** The host removes a participant: on the deny list, told so, and closed on every instance. */
export async function removeParticipant(c: Connection, target: UserRef | null | undefined): Promise<void> {
  const session = c.session;
  const s = await session.row();
  if (!s) return;
  if (s.host_uuid !== c.userUuid) return c.send(errors.hostOnlyRemoval());
  const found = named(target, await session.liveConnections());
  if (found === 'spoof' || !found) return c.send(errors.participantNotConnected());
  if (found.user_uuid === c.userUuid) return c.send(errors.hostSelfRemoval());
  await session.deny(found.user_uuid);
  if (s.presenter_uuid === found.user_uuid) await session.setPresenter(s.host_uuid);
  await session.publish({ t: 'user', userUuid: found.user_uuid, msg: errors.removedFromSession(), close: { code: CLOSE.policy, reason: 'removed from session' } });
}

/** The presenter's pointer or selection, to everyone else; anyone else's is dropped. */
export async function relay(c: Connection, m: RelayMessage): Promise<void> {
  if ((await c.session.presenterUuid()) !== c.userUuid) return;
  const msg = m.message_type === 'presenter_cursor' ? messages.presenterCursor(m.cursor_position) : messages.presenterSelection(m.selected_cells);
  await c.session.relay(c, msg);
}

/** The presenter left (its last socket): the host takes over if connected, else the first writer. */
export async function handOverFrom(session: LocalSession, s: store.SessionRow, leaverUuid: string): Promise<void> {
  if (s.presenter_uuid !== leaverUuid) return;
  const conns = await session.liveConnections();
  if (conns.some((x) => x.user_uuid === leaverUuid)) return;
  const next = conns.find((x) => x.user_uuid === s.host_uuid) ?? conns.find((x) => x.permissions === 'writer');
  await session.setPresenter(next?.user_uuid ?? null);
}
