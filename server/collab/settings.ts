// Collaboration limits and timings, from TMI_COLLAB_* (validated; a bad value stops the start).
export interface CollabSettings {
  /** A session nobody is connected to ends after this many seconds. */
  idleSeconds: number;
  /** Largest inbound frame, bytes (bigger frames close the socket with 1009). */
  maxMessageBytes: number;
  /** Diagram operations (and undo/redo) per second per socket; bursts up to twice that. */
  opsPerSecond: number;
  /** Distinct users connected to one session. */
  maxParticipants: number;
  /** Sockets one user may hold across all sessions and instances. */
  maxSocketsPerUser: number;
  /**
   * Seconds between server pings; access and revocation are re-checked on the same tick (which
   * bounds how long a lost revocation announcement goes unnoticed).
   */
  pingSeconds: number;
  /** Seconds a ticket from /ws/ticket stays valid (single use). */
  ticketSeconds: number;
  /** Milliseconds between housekeeping passes (heartbeat, dead instances, idle sessions). */
  sweepMs: number;
}

export const DEFAULT_COLLAB: CollabSettings = {
  idleSeconds: 300,
  maxMessageBytes: 1024 * 1024,
  opsPerSecond: 100,
  maxParticipants: 50,
  maxSocketsPerUser: 5,
  pingSeconds: 30,
  ticketSeconds: 30,
  sweepMs: 5000,
};

const ENV: Record<keyof CollabSettings, [string, number, number]> = {
  idleSeconds: ['TMI_COLLAB_IDLE_SECONDS', 5, 86_400],
  maxMessageBytes: ['TMI_COLLAB_MAX_MESSAGE_BYTES', 4096, 64 * 1024 * 1024],
  opsPerSecond: ['TMI_COLLAB_OPS_PER_SECOND', 1, 100_000],
  maxParticipants: ['TMI_COLLAB_MAX_PARTICIPANTS', 1, 10_000],
  maxSocketsPerUser: ['TMI_COLLAB_MAX_SOCKETS_PER_USER', 1, 10_000],
  pingSeconds: ['TMI_COLLAB_PING_SECONDS', 1, 3600],
  ticketSeconds: ['TMI_COLLAB_TICKET_SECONDS', 5, 3600],
  sweepMs: ['TMI_COLLAB_SWEEP_MS', 100, 600_000],
};

export function loadCollabSettings(env: Record<string, string | undefined>, overrides: Partial<CollabSettings> = {}): CollabSettings {
  const out = { ...DEFAULT_COLLAB };
  const problems: string[] = [];
  for (const [k, [name, min, max]] of Object.entries(ENV) as [keyof CollabSettings, [string, number, number]][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) problems.push(`${name}: expected an integer from ${min} to ${max}, got "${raw}"`);
    else out[k] = n;
  }
  if (problems.length) throw new Error(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return { ...out, ...overrides };
}
