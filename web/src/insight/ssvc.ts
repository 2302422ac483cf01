// An SSVC decision helper: CISA's SSVC decision tree (exploitation, automatable, technical impact,
// mission and well-being -> Track, Track*, Attend, Act). The threat contract stores the deployer
// labels (Defer, Scheduled, Out-of-Cycle, Immediate); CISA's four outcomes are stored as the
// deployer label of the same rank, with the methodology naming the CISA tree and the vector
// recording the answers, so nothing is lost.
export const EXPLOITATION = ['none', 'poc', 'active'] as const;
export const AUTOMATABLE = ['no', 'yes'] as const;
export const TECHNICAL_IMPACT = ['partial', 'total'] as const;
export const MISSION_WELLBEING = ['low', 'medium', 'high'] as const;
export type CisaOutcome = 'Track' | 'Track*' | 'Attend' | 'Act';
export type Decision = 'Defer' | 'Scheduled' | 'Out-of-Cycle' | 'Immediate';

export interface SsvcAnswers {
  exploitation: (typeof EXPLOITATION)[number];
  automatable: (typeof AUTOMATABLE)[number];
  technicalImpact: (typeof TECHNICAL_IMPACT)[number];
  missionWellbeing: (typeof MISSION_WELLBEING)[number];
}

// [exploitation][automatable][technical impact] -> outcome for mission & well-being low, medium, high.
const TREE: Record<SsvcAnswers['exploitation'], Record<SsvcAnswers['automatable'], Record<SsvcAnswers['technicalImpact'], [CisaOutcome, CisaOutcome, CisaOutcome]>>> = {
  none: {
    no: { partial: ['Track', 'Track', 'Track'], total: ['Track', 'Track', 'Track*'] },
    yes: { partial: ['Track', 'Track', 'Attend'], total: ['Track', 'Track', 'Attend'] },
  },
  poc: {
    no: { partial: ['Track', 'Track', 'Track*'], total: ['Track', 'Track*', 'Attend'] },
    yes: { partial: ['Track', 'Track', 'Attend'], total: ['Track', 'Track*', 'Attend'] },
  },
  active: {
    no: { partial: ['Track', 'Track', 'Attend'], total: ['Track', 'Attend', 'Act'] },
    yes: { partial: ['Attend', 'Attend', 'Act'], total: ['Attend', 'Act', 'Act'] },
  },
};

export function cisaOutcome(a: SsvcAnswers): CisaOutcome {
  return TREE[a.exploitation][a.automatable][a.technicalImpact][MISSION_WELLBEING.indexOf(a.missionWellbeing)]!;
}

const RANKED: Record<CisaOutcome, Decision> = { Track: 'Defer', 'Track*': 'Scheduled', Attend: 'Out-of-Cycle', Act: 'Immediate' };

const code = (s: string) => s[0]!.toUpperCase();

/** The threat's `ssvc` value for these answers. */
export function ssvcScore(a: SsvcAnswers): { vector: string; decision: Decision; methodology: string } {
  const outcome = cisaOutcome(a);
  return {
    vector: `SSVCv2/E:${code(a.exploitation)}/A:${code(a.automatable)}/T:${code(a.technicalImpact)}/M:${code(a.missionWellbeing)}/D:${outcome === 'Track*' ? 'R' : code(outcome)}/`,
    decision: RANKED[outcome],
    methodology: 'CISA SSVC',
  };
}

/** The answers recorded in a vector made by ssvcScore, if it is one. */
export function parseSsvcVector(vector: string | undefined | null): SsvcAnswers | undefined {
  const m = /^SSVCv2\/E:([NPA])\/A:([NY])\/T:([PT])\/M:([LMH])\//.exec(vector ?? '');
  if (!m) return undefined;
  const pick = <T extends string>(values: readonly T[], c: string) => values.find((v) => code(v) === c)!;
  return { exploitation: pick(EXPLOITATION, m[1]!), automatable: pick(AUTOMATABLE, m[2]!), technicalImpact: pick(TECHNICAL_IMPACT, m[3]!), missionWellbeing: pick(MISSION_WELLBEING, m[4]!) };
}
