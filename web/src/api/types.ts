// Wire shapes the app reads (a subset of the API contract; see contract/ and the reference OpenAPI).

export interface User {
  principal_type: 'user';
  provider: string;
  provider_id: string;
  display_name: string;
  email: string;
}

export interface Me {
  provider: string;
  provider_id: string;
  display_name: string;
  email: string;
  is_admin: boolean;
  is_security_reviewer: boolean;
  groups: { internal_uuid: string; group_name: string; name: string }[];
}

export type Role = 'reader' | 'writer' | 'owner';

export interface Authorization {
  principal_type: 'user' | 'group';
  provider: string;
  provider_id: string;
  display_name?: string;
  email?: string;
  role: Role;
}

export interface Metadata {
  key: string;
  value: string;
}

export interface TMListItem {
  id: string;
  name: string;
  description?: string | null;
  created_at: string;
  modified_at: string;
  owner: User;
  threat_model_framework: string;
  status: string;
  issue_uri?: string | null;
  document_count: number;
  repo_count: number;
  diagram_count: number;
  threat_count: number;
  asset_count: number;
  note_count: number;
}

export interface ThreatModel {
  id: string;
  name: string;
  description?: string | null;
  owner: User;
  created_by: User;
  threat_model_framework: string;
  authorization: Authorization[];
  metadata: Metadata[];
  issue_uri?: string | null;
  status: string;
  created_at: string;
  modified_at: string;
  version: number;
  diagrams: Record<string, unknown>[];
}

export interface Threat {
  id: string;
  name: string;
  description?: string | null;
  mitigation?: string | null;
  diagram_id?: string | null;
  cell_id?: string | null;
  asset_id?: string | null;
  severity?: string | null;
  priority?: string | null;
  status?: string | null;
  mitigated?: boolean;
  score?: number;
  threat_type: string[];
  cwe_id?: string[];
  cvss?: { vector: string; score: number }[];
  issue_uri?: string | null;
  created_at?: string;
  modified_at?: string;
}

export interface DiagramSummary {
  id: string;
  name: string;
  type: string;
  created_at?: string;
  modified_at?: string;
}

export interface ApiCell {
  id: string;
  shape: string;
  [key: string]: unknown;
}

export interface Diagram extends DiagramSummary {
  cells: ApiCell[];
  update_vector?: number;
  version?: number;
}

export interface Provider {
  id: string;
  name: string;
  icon: string;
  auth_url: string;
  token_url: string;
}

export const FRAMEWORKS = ['STRIDE', 'CIA', 'LINDDUN', 'DIE', 'PLOT4ai'] as const;

/** Threat types offered per framework in the threat form. */
export const THREAT_TYPES: Record<string, string[]> = {
  STRIDE: ['Spoofing', 'Tampering', 'Repudiation', 'Information Disclosure', 'Denial of Service', 'Elevation of Privilege'],
  CIA: ['Confidentiality', 'Integrity', 'Availability'],
  LINDDUN: ['Linkability', 'Identifiability', 'Non-repudiation', 'Detectability', 'Disclosure of Information', 'Unawareness', 'Non-compliance'],
  DIE: ['Distributed', 'Immutable', 'Ephemeral'],
  PLOT4ai: ['Technique & Processes', 'Accessibility', 'Identifiability & Linkability', 'Security', 'Safety', 'Unawareness', 'Ethics & Human Rights', 'Non-compliance'],
};

export const SEVERITIES = ['Critical', 'High', 'Medium', 'Low', 'Informational', 'Unknown'];
export const PRIORITIES = ['Immediate', 'High', 'Medium', 'Low', 'Deferred'];
export const THREAT_STATUSES = ['Open', 'Confirmed', 'Mitigation Planned', 'Mitigation In Progress', 'Verification Pending', 'Resolved', 'Accepted', 'False Positive', 'Deferred', 'Closed'];
export const TM_STATUSES = ['not_started', 'in_progress', 'pending_review', 'remediation_required', 'remediation_in_progress', 'verification_pending', 'approved', 'rejected', 'deferred', 'closed'];
