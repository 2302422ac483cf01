// Every rule of the built-in pack fires on a small diagram made to trigger it and stays quiet on a
// near-identical one that does not. A rule added to the pack without a case here fails the suite.
import { describe, expect, it } from 'vitest';
import { BUILTIN_PACK, evaluate, validatePack, type ModelInput } from '../../rules/index.ts';
import data from '../../rules/builtin-pack.json' with { type: 'json' };
import { scene } from './kit.ts';

type Case = { trigger: ModelInput; quiet: ModelInput };

const WEB = { technology: 'web-application' };

const CASES: Record<string, Case> = {
  'stride-spoofing-external-entity': { trigger: scene((k) => k.actor('User')), quiet: scene((k) => k.process('Job')) },
  'stride-repudiation-external-entity': { trigger: scene((k) => k.actor('User')), quiet: scene((k) => k.store('DB')) },
  'stride-spoofing-process': { trigger: scene((k) => k.process('API')), quiet: scene((k) => k.store('DB')) },
  'stride-tampering-process': { trigger: scene((k) => k.process('API')), quiet: scene((k) => k.actor('User')) },
  'stride-repudiation-process': { trigger: scene((k) => k.process('API')), quiet: scene((k) => k.process('API', { audit_logging: true })) },
  'stride-information-disclosure-process': { trigger: scene((k) => k.process('API')), quiet: scene((k) => k.store('DB')) },
  'stride-denial-of-service-process': { trigger: scene((k) => k.process('API')), quiet: scene((k) => k.actor('User')) },
  'stride-elevation-of-privilege-process': { trigger: scene((k) => k.process('API')), quiet: scene((k) => k.store('DB')) },
  'stride-tampering-data-store': { trigger: scene((k) => k.store('DB')), quiet: scene((k) => k.process('API')) },
  'stride-repudiation-log-store': { trigger: scene((k) => k.store('Audit log', { is_log: true })), quiet: scene((k) => k.store('DB')) },
  'stride-information-disclosure-data-store': { trigger: scene((k) => k.store('DB')), quiet: scene((k) => k.actor('User')) },
  'stride-denial-of-service-data-store': { trigger: scene((k) => k.store('DB')), quiet: scene((k) => k.process('API')) },
  'stride-tampering-flow-across-boundary': {
    trigger: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', {}, dmz))),
    quiet: scene((k, dmz) => k.flow(k.process('API', {}, dmz), k.store('DB', {}, dmz))),
  },
  'stride-information-disclosure-flow-across-boundary': {
    trigger: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', {}, dmz))),
    quiet: scene((k, dmz) => k.flow(k.process('API', {}, dmz), k.store('DB', {}, dmz))),
  },
  'stride-denial-of-service-flow-across-boundary': {
    trigger: scene((k, dmz) => k.flow(k.process('API', {}, dmz), k.store('DB'))),
    quiet: scene((k) => k.flow(k.process('API'), k.store('DB'))),
  },
  'stride-spoofing-external-entity-to-process': {
    trigger: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', {}, dmz))),
    quiet: scene((k, dmz) => k.flow(k.process('Gateway'), k.process('API', {}, dmz))),
  },
  'stride-elevation-external-entity-to-process': {
    trigger: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', {}, dmz))),
    quiet: scene((k, dmz) => k.flow(k.actor('User', {}, dmz), k.process('API', {}, dmz))),
  },
  'stride-repudiation-external-entity-to-process': {
    trigger: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', {}, dmz))),
    quiet: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', { audit_logging: true }, dmz))),
  },
  'information-disclosure-to-external-entity': {
    trigger: scene((k) => k.flow(k.process('API'), k.actor('Partner'), { data_classification: 'confidential' })),
    quiet: scene((k) => k.flow(k.process('API'), k.actor('Partner'), { data_classification: 'internal' })),
  },
  'unencrypted-communication': {
    // The classification comes from the asset the flow carries.
    trigger: scene((k) => k.flow(k.process('API'), k.store('DB'), { protocol: 'jdbc' }, [k.asset('Orders', ['Confidential'])])),
    quiet: scene((k) => k.flow(k.process('API'), k.store('DB'), { protocol: 'jdbc-encrypted' }, [k.asset('Orders', ['Confidential'])])),
  },
  'plain-http-across-trust-boundary': {
    trigger: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', {}, dmz), { protocol: 'http' })),
    quiet: scene((k, dmz) => k.flow(k.process('Proxy', {}, dmz), k.process('API', {}, dmz), { protocol: 'http' })),
  },
  'unencrypted-flow-over-public-network': {
    trigger: scene((k) => k.flow(k.actor('User'), k.process('API'), { public_network: true, protocol: 'http' })),
    quiet: scene((k) => k.flow(k.actor('User'), k.process('API'), { public_network: true, protocol: 'https' })),
  },
  'unencrypted-sensitive-data-store': {
    trigger: scene((k) => k.store('Customers', { data_classification: 'confidential' })),
    quiet: scene((k) => k.store('Customers', { data_classification: 'confidential', encrypted: true })),
  },
  'plaintext-credentials-in-data-store': {
    trigger: scene((k) => k.store('Config', { stores_credentials: true })),
    quiet: scene((k) => k.store('Config', { stores_credentials: true, encrypted: true })),
  },
  'missing-authentication': {
    trigger: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', {}, dmz), { authentication: 'none' })),
    quiet: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', {}, dmz), { authentication: 'token' })),
  },
  'missing-authentication-second-factor': {
    trigger: scene((k, dmz) => k.flow(k.actor('Clerk'), k.process('Back office', { data_classification: 'confidential' }, dmz), { authentication: 'credentials' })),
    quiet: scene((k, dmz) => k.flow(k.actor('Clerk'), k.process('Back office', { data_classification: 'confidential' }, dmz), { authentication: 'two-factor' })),
  },
  'missing-authorization': {
    trigger: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', {}, dmz), { authorization: 'none' })),
    quiet: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', {}, dmz), { authorization: 'end-user-identity-propagation' })),
  },
  'direct-data-store-access-from-external-entity': {
    trigger: scene((k) => k.flow(k.actor('Analyst'), k.store('DB'))),
    quiet: scene((k) => k.flow(k.actor('Analyst'), k.process('Reports'))),
  },
  'unguarded-direct-data-store-access': {
    trigger: scene((k, dmz) => k.flow(k.process('API'), k.store('DB', {}, dmz))),
    quiet: scene((k, dmz) => k.flow(k.process('API', {}, dmz), k.store('DB', {}, dmz))),
  },
  'missing-web-application-firewall': {
    trigger: scene((k, dmz) => k.flow(k.actor('User'), k.process('Shop', WEB, dmz))),
    quiet: scene((k, dmz) => {
      const waf = k.process('WAF', { technology: 'waf' }, dmz);
      k.flow(k.actor('User'), waf);
      k.flow(waf, k.process('Shop', WEB, dmz));
    }),
  },
  'cross-site-scripting': { trigger: scene((k) => k.process('Shop', WEB)), quiet: scene((k) => k.process('Batch', { technology: 'batch-job' })) },
  'cross-site-request-forgery': {
    trigger: scene((k) => k.flow(k.actor('Browser', { technology: 'browser' }), k.process('Shop', WEB))),
    quiet: scene((k) => k.flow(k.process('Batch', { technology: 'batch-job' }), k.process('Shop', WEB))),
  },
  'sql-nosql-injection': {
    trigger: scene((k) => k.flow(k.process('API'), k.store('DB', { technology: 'database' }))),
    quiet: scene((k) => k.flow(k.process('API'), k.store('Files', { technology: 'file-server' }))),
  },
  'ldap-injection': {
    trigger: scene((k) => k.flow(k.process('API'), k.process('Directory'), { protocol: 'ldaps' })),
    quiet: scene((k) => k.flow(k.process('API'), k.process('Directory'), { protocol: 'https' })),
  },
  'path-traversal': {
    trigger: scene((k) => k.flow(k.process('API'), k.store('Files', { technology: 'file-server' }))),
    quiet: scene((k) => k.flow(k.process('API'), k.store('DB', { technology: 'database' }))),
  },
  'xml-external-entity': {
    trigger: scene((k) => k.process('Importer', { data_formats: ['json', 'xml'] })),
    quiet: scene((k) => k.process('Importer', { data_formats: ['json'] })),
  },
  'untrusted-deserialization': {
    trigger: scene((k) => k.process('Worker', { data_formats: 'serialization' })),
    quiet: scene((k) => k.process('Worker', { data_formats: 'json' })),
  },
  'server-side-request-forgery': {
    trigger: scene((k, dmz) => k.flow(k.process('Fetcher', {}, dmz), k.process('Partner API'), { protocol: 'https' })),
    quiet: scene((k, dmz) => k.flow(k.process('Fetcher', {}, dmz), k.process('Renderer', {}, dmz), { protocol: 'https' })),
  },
  'dos-risky-access-across-trust-boundary': {
    trigger: scene((k, dmz) => k.flow(k.actor('User'), k.process('Payments', { availability: 'critical' }, dmz))),
    quiet: scene((k, dmz) => k.flow(k.actor('User'), k.process('Payments', { availability: 'operational' }, dmz))),
  },
  'missing-network-segmentation': {
    trigger: scene((k) => k.store('Customers', { data_classification: 'strictly-confidential', encrypted: true })),
    quiet: scene((k, dmz) => k.store('Customers', { data_classification: 'strictly-confidential', encrypted: true }, dmz)),
  },
  'accidental-secret-leak': {
    trigger: scene((k) => k.process('Git', { technology: 'sourcecode-repository' })),
    quiet: scene((k) => k.process('Shop', WEB)),
  },
  'code-backdoor': {
    trigger: scene((k) => k.process('CI', { technology: 'build-pipeline', internet: true })),
    quiet: scene((k) => k.process('CI', { technology: 'build-pipeline', internet: false })),
  },
  'container-platform-escape': { trigger: scene((k) => k.process('Cluster', { technology: 'kubernetes' })), quiet: scene((k) => k.process('Shop', WEB)) },
  'unchecked-deployment': {
    trigger: scene((k) => k.flow(k.process('CI', { technology: 'build-pipeline' }), k.process('Shop', WEB))),
    quiet: scene((k) => k.flow(k.process('CI', { technology: 'build-pipeline' }), k.store('Artefacts'))),
  },
  'isolated-element': {
    trigger: scene((k) => k.process('Forgotten')),
    quiet: scene((k) => k.flow(k.process('API'), k.store('DB'))),
  },
  'incomplete-model-protocol': {
    trigger: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', {}, dmz))),
    quiet: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', {}, dmz), { protocol: 'https' })),
  },
  'identity-provider-not-isolated': {
    trigger: scene((k) => k.process('IdP', { technology: 'identity-provider' })),
    quiet: scene((k, dmz) => k.process('IdP', { technology: 'identity-provider' }, dmz)),
  },
  'multi-tenant-sensitive-component': {
    trigger: scene((k) => k.process('SaaS API', { multi_tenant: true, data_classification: 'confidential' })),
    quiet: scene((k) => k.process('SaaS API', { multi_tenant: true, data_classification: 'internal' })),
  },
  'unsigned-log-store': {
    trigger: scene((k) => k.store('Audit log', { is_log: true })),
    quiet: scene((k) => k.store('Audit log', { is_log: true, signed: true })),
  },
  'missing-audit-logging-sensitive-process': {
    trigger: scene((k) => k.process('HR API', { audit_logging: false, data_classification: 'confidential' })),
    quiet: scene((k) => k.process('HR API', { audit_logging: true, data_classification: 'confidential' })),
  },
  'missing-input-validation': {
    trigger: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', { validates_input: false }, dmz))),
    quiet: scene((k, dmz) => k.flow(k.actor('User'), k.process('API', { validates_input: true }, dmz))),
  },
  'personal-data-store-identifiability': {
    trigger: scene((k) => k.store('Patients', { personal_data: true })),
    quiet: scene((k) => k.store('Catalogue')),
  },
  'personal-data-retention': {
    trigger: scene((k) => k.store('Patients', { personal_data: true })),
    quiet: scene((k) => k.store('Patients', { personal_data: true, retention: 'P3Y' })),
  },
  'personal-data-collection-unawareness': {
    trigger: scene((k) => k.flow(k.actor('Patient'), k.process('Portal'), { personal_data: true })),
    quiet: scene((k) => k.flow(k.process('Portal'), k.process('Billing'), { personal_data: true })),
  },
  'personal-data-flow-linkability': {
    trigger: scene((k, dmz) => k.flow(k.process('Portal', {}, dmz), k.process('Analytics'), { personal_data: true })),
    quiet: scene((k, dmz) => k.flow(k.process('Portal', {}, dmz), k.process('Billing', {}, dmz), { personal_data: true })),
  },
};

const fired = (model: ModelInput, ruleId: string) => evaluate(model, [BUILTIN_PACK]).filter((f) => f.ruleId === ruleId);

describe('built-in rule pack', () => {
  it("passes the checks an organisation's pack must pass (the server does not repeat them at start)", () => {
    expect(validatePack(structuredClone(data), 'builtin-pack.json')).toEqual(BUILTIN_PACK);
  });

  it('has at least 40 rules, each with a trigger and a quiet case here', () => {
    expect(BUILTIN_PACK.rules.length).toBeGreaterThanOrEqual(40);
    expect(Object.keys(CASES).sort()).toEqual(BUILTIN_PACK.rules.map((r) => r.id).sort());
  });

  it('covers every STRIDE category, per element and per interaction', () => {
    const letters = (appliesTo: string) => new Set(BUILTIN_PACK.rules.filter((r) => r.appliesTo === appliesTo).flatMap((r) => r.categories.STRIDE ?? []));
    expect([...letters('element')].sort()).toEqual(['D', 'E', 'I', 'R', 'S', 'T']);
    expect([...letters('flow')].sort()).toEqual(['D', 'E', 'I', 'R', 'S', 'T']);
    expect(BUILTIN_PACK.rules.some((r) => r.categories.LINDDUN)).toBe(true);
    expect(BUILTIN_PACK.rules.some((r) => r.categories.CIA)).toBe(true);
  });

  for (const rule of BUILTIN_PACK.rules) {
    describe(rule.id, () => {
      const c = CASES[rule.id];
      it('fires on the diagram made to trigger it', () => {
        expect(c, `no test case for ${rule.id}`).toBeDefined();
        const hits = fired(c!.trigger, rule.id);
        expect(hits.length).toBeGreaterThanOrEqual(1);
        expect(hits[0]!.threat.name).not.toMatch(/\{(element|source|target|kind)\}/);
        expect(hits[0]!.subject.kind === 'flow').toBe(rule.appliesTo === 'flow');
      });
      it('stays quiet on the diagram that does not', () => {
        expect(fired(c!.quiet, rule.id)).toEqual([]);
      });
    });
  }
});
