// The threat rules engine: one library for the editor, the server and the CLI (no Node APIs here).
export { BUILTIN_PACK } from './builtin.ts';
export { categoryTags, threatTypes, type Categories } from './categories.ts';
export { compareFindings, duplicateRuleIds, evaluate, exceeds, fingerprintOf, toThreatInput, type EvaluateOptions, type Finding, type FindingState } from './engine.ts';
export { analyse, type ModelInput, type ModelView } from './graph.ts';
export { PackError, PackSchema, parsePack, RuleSchema, SEVERITIES, severityRank, validatePack, type Condition, type Pack, type Rule, type Severity } from './pack.ts';
export { toSarif, type SarifOptions } from './sarif.ts';
export { DISMISSED_KEY, PROPERTIES, readProperties, SUGGESTION_KEY, toMetadata } from './vocabulary.ts';
