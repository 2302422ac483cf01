// The conventional values of contract/limits.ts that the web app offers (a threat's severity,
// priority and status, a threat model's status) are stored as they are sent, so the app's selects
// and filters compare with what the server gives back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THREAT_MODEL_STATUSES, THREAT_PRIORITIES, THREAT_SEVERITIES, THREAT_STATUSES } from '../contract/limits.ts';
import { call, signIn, startTestApp, type TestApp } from './support/app.ts';

describe('conventional values of the contract', () => {
  let t: TestApp;
  let token: string;
  let tmId: string;
  beforeAll(async () => {
    t = await startTestApp({ TMI_AUTH_EVERYONE_IS_A_REVIEWER: 'true' });
    token = (await signIn(t.app)).accessToken;
    const tm = await call(t.app, 'POST', '/threat_models', { token, body: { name: 'Values' } });
    expect(tm.status).toBe(201);
    tmId = tm.body.id;
  });
  afterAll(async () => {
    await t.close();
  });

  it('a threat keeps each severity, priority and status it is given', async () => {
    const rounds = Math.max(THREAT_SEVERITIES.length, THREAT_PRIORITIES.length, THREAT_STATUSES.length);
    for (let i = 0; i < rounds; i++) {
      const sent = { severity: THREAT_SEVERITIES[i % THREAT_SEVERITIES.length]!, priority: THREAT_PRIORITIES[i % THREAT_PRIORITIES.length]!, status: THREAT_STATUSES[i]! };
      const res = await call(t.app, 'POST', `/threat_models/${tmId}/threats`, { token, body: { name: `Threat ${i}`, threat_type: [], ...sent } });
      expect(res.status).toBe(201);
      expect({ severity: res.body.severity, priority: res.body.priority, status: res.body.status }).toEqual(sent);
    }
  });

  it('the threat list sorts by severity in the order of THREAT_SEVERITIES', async () => {
    const res = await call(t.app, 'GET', `/threat_models/${tmId}/threats?sort=severity:asc&limit=100`, { token });
    expect(res.status).toBe(200);
    const seen = [...new Set((res.body.threats as { severity: string }[]).map((x) => x.severity))];
    expect(seen).toEqual([...THREAT_SEVERITIES]);
  });

  it('a threat model keeps each status it is given', async () => {
    for (const status of THREAT_MODEL_STATUSES) {
      const res = await call(t.app, 'PATCH', `/threat_models/${tmId}`, { token, body: [{ op: 'replace', path: '/status', value: status }], contentType: 'application/json-patch+json' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.status).toBe(status);
    }
  });
});
