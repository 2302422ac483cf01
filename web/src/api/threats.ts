// Threats of a threat model: /threat_models/{id}/threats.
import type { ListThreatsResponse, Threat, ThreatInput } from '../../../contract/threats.ts';
import { childCollection } from './children.ts';

export const threats = childCollection<ListThreatsResponse, Threat, ThreatInput>('threats');
