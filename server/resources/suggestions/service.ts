// Threat suggestions: the rules engine (rules/) run over a threat model's diagrams and assets with
// the built-in, configured and uploaded packs; dismissals remembered per model; accepting one
// creates a threat linked to its cell through the threat service (audit, versions, events as any
// other create). Organisation packs uploaded by administrators, validated as the CLI validates.
import type { Principal } from '../../auth/authenticate.ts';
import type { Db } from '../../store/db.ts';
import { badRequest, conflict, notFound } from '../../http/errors.ts';
import { partyOf, securityEvent } from '../../security-events.ts';
import { BUILTIN_PACK, duplicateRuleIds, evaluate, fingerprintOf, PackError, SEVERITIES, toThreatInput, validatePack, type Finding, type Pack } from '../../../rules/index.ts';
import type { RulePackSummary, Suggestion } from '../../../contract/suggestions.ts';
import type { ThreatModelService } from '../threat-models/service.ts';
import type { ChildService, Wire } from '../children/service.ts';
import { ThreatInput } from '../../../contract/threats.ts';
import * as store from './store.ts';
import { compileOnFirstUse } from '../../../contract/validator.ts';

/** The accepted threat is checked as a POST body would be (cell names end up in its text). */
const threatInputCheck = compileOnFirstUse(ThreatInput);

const iso = (d: Date | string) => new Date(d).toISOString();

/** `rule~cell` (URL-safe) from the engine's fingerprint `rule/cell`, and back. */
export const suggestionIdOf = (fingerprint: string) => fingerprint.replace('/', '~');
const fingerprintOfId = (id: string) => {
  const at = id.indexOf('~');
  return fingerprintOf(id.slice(0, at), id.slice(at + 1));
};

export function present(f: Finding): Suggestion {
  return {
    id: suggestionIdOf(f.fingerprint),
    rule_id: f.ruleId,
    pack_id: f.packId,
    title: f.title,
    severity: f.severity,
    state: f.state,
    tags: f.tags,
    cwe: f.cwe,
    threat: f.threat,
    diagram_id: f.subject.diagramId,
    diagram_name: f.subject.diagramName,
    cell_id: f.subject.cellId,
    cell_kind: f.subject.kind,
    cell_name: f.subject.name,
    ...(f.subject.source !== undefined ? { source_name: f.subject.source } : {}),
    ...(f.subject.target !== undefined ? { target_name: f.subject.target } : {}),
    references: f.references,
  };
}

type PackSource = 'builtin' | 'config' | 'uploaded';

/** The packs the server evaluates: built-in, from TMI_RULE_PACKS, and uploaded by administrators. */
export class RulePackService {
  constructor(
    private readonly db: Db,
    private readonly configured: readonly Pack[],
  ) {}

  private fixed(): { pack: Pack; source: PackSource }[] {
    return [{ pack: BUILTIN_PACK, source: 'builtin' }, ...this.configured.map((pack) => ({ pack, source: 'config' as const }))];
  }

  async all(): Promise<{ pack: Pack; source: PackSource; row?: store.PackRow }[]> {
    const rows = await store.listPacks(this.db);
    return [...this.fixed(), ...rows.map((row) => ({ pack: row.pack, source: 'uploaded' as const, row }))];
  }

  /** What a model's suggestions are evaluated with (here and in its report): every pack and the model's dismissals. */
  async inputsFor(tmId: string) {
    const [dismissed, all] = await Promise.all([store.dismissals(this.db, tmId), this.all()]);
    return { all, packs: all.map((x) => x.pack), dismissed };
  }

  private summary(pack: Pack, source: PackSource, row?: store.PackRow): RulePackSummary {
    return {
      id: pack.id,
      name: pack.name,
      version: pack.version,
      ...(pack.description !== undefined ? { description: pack.description } : {}),
      source,
      rule_count: pack.rules.length,
      ...(row ? { created_at: iso(row.created_at), modified_at: iso(row.modified_at) } : {}),
    };
  }

  async list() {
    const all = await this.all();
    return { rule_packs: all.map((x) => this.summary(x.pack, x.source, x.row)), total: all.length };
  }

  async get(id: string) {
    const found = (await this.all()).find((x) => x.pack.id === id);
    if (!found) throw notFound('Rule pack not found');
    return { ...this.summary(found.pack, found.source, found.row), pack: found.pack };
  }

  private validate(body: unknown): Pack {
    try {
      return validatePack(structuredClone(body), 'rule pack');
    } catch (e) {
      if (!(e instanceof PackError)) throw e;
      const problems = e.problems.slice(0, 20).join('; ');
      throw badRequest(`Invalid rule pack: ${problems}${e.problems.length > 20 ? ` (and ${e.problems.length - 20} more)` : ''}`.slice(0, 4000), 'invalid_rule_pack');
    }
  }

  /** 409 when the pack's id is a built-in or configured one, or its rule ids are another pack's. */
  private async checkClashes(q: Parameters<typeof store.listPacks>[0], pack: Pack): Promise<void> {
    if (this.fixed().some((x) => x.pack.id === pack.id)) throw conflict(`Rule pack '${pack.id}' is built in or set by configuration (TMI_RULE_PACKS)`);
    const others = [...this.fixed().map((x) => x.pack), ...(await store.listPacks(q)).map((r) => r.pack).filter((p) => p.id !== pack.id)];
    const dups = duplicateRuleIds([...others, pack]);
    if (dups.length) throw conflict(`Rule ids already defined by another pack: ${dups.slice(0, 20).join(', ')}`);
  }

  async create(p: Principal, body: unknown) {
    const pack = this.validate(body);
    const at = new Date();
    await this.db.tx(async (q) => {
      await store.lockPacks(q);
      await this.checkClashes(q, pack);
      if (await store.findPack(q, pack.id)) throw conflict(`Rule pack '${pack.id}' already exists; replace it with PUT /admin/rule_packs/${pack.id}`);
      await store.insertPack(q, pack, p.userUuid, at);
    });
    securityEvent('admin.rule_pack.created', { ...partyOf(p), pack_id: pack.id, version: pack.version, rule_count: pack.rules.length });
    return this.get(pack.id);
  }

  async replace(p: Principal, id: string, body: unknown) {
    if (this.fixed().some((x) => x.pack.id === id)) throw conflict(`Rule pack '${id}' is built in or set by configuration (TMI_RULE_PACKS) and cannot be changed here`);
    const pack = this.validate(body);
    if (pack.id !== id) throw badRequest(`The pack's id '${pack.id}' does not match the path ('${id}')`);
    await this.db.tx(async (q) => {
      await store.lockPacks(q);
      if (!(await store.findPack(q, id, true))) throw notFound('Rule pack not found');
      await this.checkClashes(q, pack);
      await store.updatePack(q, pack, new Date());
    });
    securityEvent('admin.rule_pack.updated', { ...partyOf(p), pack_id: pack.id, version: pack.version, rule_count: pack.rules.length });
    return this.get(pack.id);
  }

  async remove(p: Principal, id: string): Promise<void> {
    if (this.fixed().some((x) => x.pack.id === id)) throw conflict(`Rule pack '${id}' is built in or set by configuration (TMI_RULE_PACKS) and cannot be deleted here`);
    if (!(await store.deletePack(this.db, id))) throw notFound('Rule pack not found');
    securityEvent('admin.rule_pack.deleted', { ...partyOf(p), pack_id: id });
  }
}

export interface SuggestionQuery {
  state?: 'open' | 'dismissed' | 'accepted' | 'all';
  diagram_id?: string;
  cell_id?: string;
}

export class SuggestionService {
  constructor(
    private readonly db: Db,
    private readonly threatModels: ThreatModelService,
    private readonly threats: ChildService,
    private readonly packs: RulePackService,
  ) {}

  /** Every finding on the model (after the read check), with the model's framework. */
  private async evaluate(p: Principal, tmId: string) {
    const model = await this.threatModels.get(p, tmId);
    const { all, packs, dismissed } = await this.packs.inputsFor(tmId);
    return { findings: evaluate(model, packs, { dismissed }), framework: model.threat_model_framework, packs: all };
  }

  async list(p: Principal, tmId: string, query: SuggestionQuery) {
    const { findings, packs } = await this.evaluate(p, tmId);
    const state = query.state ?? 'open';
    const cell = query.cell_id?.toLowerCase();
    const diagram = query.diagram_id?.toLowerCase();
    const picked = findings.filter(
      (f) => (state === 'all' || f.state === state) && (!cell || f.subject.cellId.toLowerCase() === cell) && (!diagram || f.subject.diagramId.toLowerCase() === diagram),
    );
    const openBySeverity: Record<string, number> = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
    for (const f of findings) if (f.state === 'open') openBySeverity[f.severity]! += 1;
    return {
      suggestions: picked.map(present),
      total: picked.length,
      open_by_severity: openBySeverity,
      packs: packs.map((x) => ({ id: x.pack.id, name: x.pack.name, version: x.pack.version, source: x.source })),
    };
  }

  /** The finding a suggestion id names, after the write check; 404 when the rules do not (or no longer) suggest it. */
  private async findForWrite(p: Principal, tmId: string, suggestionId: string) {
    await this.threatModels.accessTo(p, tmId, 'write');
    const { findings, framework } = await this.evaluate(p, tmId);
    const fingerprint = fingerprintOfId(suggestionId);
    const f = findings.find((x) => x.fingerprint === fingerprint);
    if (!f) throw notFound('Suggestion not found (no rule suggests it for this model now)');
    return { f, framework };
  }

  async dismiss(p: Principal, tmId: string, suggestionId: string): Promise<Suggestion> {
    const { f } = await this.findForWrite(p, tmId, suggestionId);
    if (f.state === 'accepted') throw conflict('The suggestion was accepted as a threat; delete the threat to reopen it');
    await store.addDismissal(this.db, tmId, f.fingerprint, p.userUuid, new Date());
    return present({ ...f, state: 'dismissed' });
  }

  async undismiss(p: Principal, tmId: string, suggestionId: string): Promise<void> {
    await this.threatModels.accessTo(p, tmId, 'write');
    if (!(await store.removeDismissal(this.db, tmId, fingerprintOfId(suggestionId)))) throw notFound('The suggestion is not dismissed');
  }

  /** Creates the suggested threat, linked to the diagram and cell, as any other threat create. */
  async accept(p: Principal, tmId: string, suggestionId: string): Promise<Wire> {
    const { f, framework } = await this.findForWrite(p, tmId, suggestionId);
    if (f.state === 'accepted') throw conflict('The suggestion was already accepted as a threat');
    const input = toThreatInput(f, framework);
    if (!threatInputCheck.Check(input)) {
      const e = [...threatInputCheck.Errors(input)][0];
      throw badRequest(`The suggested threat is not a valid threat (${e ? `${e.instancePath || '/'} ${e.message}` : 'invalid'}); create it by hand`);
    }
    const threat = await this.threats.create(p, tmId, input as unknown as Record<string, unknown>);
    await store.removeDismissal(this.db, tmId, f.fingerprint);
    return threat;
  }
}
