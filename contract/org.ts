// Teams and projects on the wire (reference TeamInput/Team/TeamListItem, ProjectInput/Project/
// ProjectListItem, TeamProjectNoteBase/TeamNote/TeamNoteListItem): limits and patterns as the
// reference contract states them.
import { Type, type Static } from 'typebox';
import { DateTime, Literals, Metadata, Nullable, Paging, User, Uuid } from './common.ts';
import { NO_CONTROL, SAFE_NAME } from './limits.ts';

export const TEAM_STATUSES = ['active', 'on_hold', 'winding_down', 'archived', 'forming', 'merging', 'splitting'] as const;
export const PROJECT_STATUSES = [
  'active', 'planning', 'on_hold', 'cancelled', 'in_development', 'in_review', 'mvp', 'limited_availability',
  'general_availability', 'deprecated', 'end_of_life', 'archived',
] as const;
export const MEMBER_ROLES = ['engineering_lead', 'engineer', 'product_manager', 'business_leader', 'security_specialist', 'other'] as const;
export const RELATIONSHIPS = ['parent', 'child', 'dependency', 'dependent', 'supersedes', 'superseded_by', 'related', 'other'] as const;
export type Relationship = (typeof RELATIONSHIPS)[number];

const DESCRIPTION = '^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]*$';
const name = Type.String({ minLength: 1, maxLength: 256, pattern: NO_CONTROL });
const description = Type.Optional(Nullable(Type.String({ maxLength: 2048, pattern: DESCRIPTION })));
const uri = Type.Optional(Nullable(Type.String({ format: 'uri', maxLength: 1000 })));
const customText = Type.Optional(Type.String({ maxLength: 128, pattern: NO_CONTROL }));

export const MemberRole = Literals(MEMBER_ROLES);
export const MemberInput = Type.Object({ user_id: Uuid, role: Type.Optional(MemberRole), custom_role: customText }, { additionalProperties: false });
export type MemberInput = Static<typeof MemberInput>;
export const Member = Type.Object(
  { user_id: Uuid, user: Type.Optional(Nullable(User)), role: MemberRole, custom_role: customText },
  { additionalProperties: false },
);

export const RelatedTeam = Type.Object(
  { related_team_id: Uuid, relationship: Literals(RELATIONSHIPS), custom_relationship: customText },
  { additionalProperties: false },
);
export const RelatedProject = Type.Object(
  { related_project_id: Uuid, relationship: Literals(RELATIONSHIPS), custom_relationship: customText },
  { additionalProperties: false },
);

const serverFields = {
  id: Uuid,
  created_by: Type.Optional(Nullable(User)),
  modified_by: Type.Optional(Nullable(User)),
  reviewed_by: Type.Optional(Nullable(User)),
  created_at: DateTime,
  modified_at: DateTime,
  reviewed_at: Type.Optional(Nullable(DateTime)),
  metadata: Type.Array(Metadata),
  version: Type.Integer({ minimum: 1 }),
};

export const TeamInput = Type.Object(
  {
    name,
    description,
    uri,
    email_address: Type.Optional(Nullable(Type.String({ format: 'email', maxLength: 254, pattern: '^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$' }))),
    status: Type.Optional(Nullable(Literals(TEAM_STATUSES))),
    related_teams: Type.Optional(Type.Array(RelatedTeam, { maxItems: 100 })),
    members: Type.Optional(Type.Array(MemberInput, { maxItems: 1000 })),
    responsible_parties: Type.Optional(Type.Array(MemberInput, { maxItems: 100 })),
  },
  { additionalProperties: false },
);
export type TeamInput = Static<typeof TeamInput>;

export const UnitNoteInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256, pattern: SAFE_NAME }),
    content: Type.String({ minLength: 1, maxLength: 262_144, pattern: DESCRIPTION }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2048, pattern: '^[^<>\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]*$' }))),
    timmy_enabled: Type.Optional(Type.Boolean()),
    sharable: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type UnitNoteInput = Static<typeof UnitNoteInput>;
const noteListFields = {
  id: Uuid,
  name: Type.String(),
  description: Type.Optional(Nullable(Type.String())),
  timmy_enabled: Type.Boolean(),
  sharable: Type.Boolean(),
  created_at: DateTime,
  modified_at: DateTime,
};
export const UnitNoteListItem = Type.Object(noteListFields, { additionalProperties: false });
export const UnitNote = Type.Object({ ...noteListFields, content: Type.String() }, { additionalProperties: false });
export type UnitNote = Static<typeof UnitNote>;
export const ListUnitNotesResponse = Type.Object(
  { notes: Type.Array(UnitNoteListItem), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() },
  { additionalProperties: false },
);
export const NoteListQuery = Type.Object(Paging);

export const Team = Type.Object({
  ...TeamInput.properties,
  ...serverFields,
  status: Literals(TEAM_STATUSES),
  members: Type.Array(Member),
  responsible_parties: Type.Array(Member),
  related_teams: Type.Array(RelatedTeam),
  notes: Type.Optional(Type.Array(UnitNoteListItem)),
});
export type Team = Static<typeof Team>;

export const TeamListItem = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.Optional(Nullable(Type.String())),
    status: Type.Optional(Nullable(Type.String())),
    member_count: Type.Integer(),
    project_count: Type.Integer(),
    created_at: DateTime,
    modified_at: DateTime,
    note_count: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export const ListTeamsResponse = Type.Object(
  { teams: Type.Array(TeamListItem), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() },
  { additionalProperties: false },
);

const relatedFilters = {
  name: Type.Optional(Type.String({ maxLength: 256 })),
  status: Type.Optional(Type.String({ maxLength: 1000 })),
  related_to: Type.Optional(Uuid),
  relationship: Type.Optional(Literals(RELATIONSHIPS)),
  transitive: Type.Optional(Type.Boolean()),
};
const OrgPaging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
};
export const ListTeamsQuery = Type.Object({ ...OrgPaging, ...relatedFilters, member_user_id: Type.Optional(Uuid) });
export type ListTeamsQuery = Static<typeof ListTeamsQuery>;

export const ProjectInput = Type.Object(
  {
    name,
    description,
    uri,
    team_id: Uuid,
    status: Type.Optional(Nullable(Literals(PROJECT_STATUSES))),
    related_projects: Type.Optional(Type.Array(RelatedProject, { maxItems: 100 })),
    responsible_parties: Type.Optional(Type.Array(MemberInput, { maxItems: 100 })),
  },
  { additionalProperties: false },
);
export type ProjectInput = Static<typeof ProjectInput>;

export const TeamSummary = Type.Object({ id: Uuid, name: Type.String(), description: Type.Optional(Nullable(Type.String())) });
export const Project = Type.Object({
  ...ProjectInput.properties,
  ...serverFields,
  status: Literals(PROJECT_STATUSES),
  team: Type.Optional(Nullable(TeamSummary)),
  responsible_parties: Type.Array(Member),
  related_projects: Type.Array(RelatedProject),
  notes: Type.Optional(Type.Array(UnitNoteListItem)),
});
export type Project = Static<typeof Project>;

export const ProjectListItem = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.Optional(Nullable(Type.String())),
    status: Type.Optional(Nullable(Type.String())),
    team_id: Uuid,
    team_name: Type.Optional(Type.String()),
    created_at: DateTime,
    modified_at: DateTime,
    note_count: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export const ListProjectsResponse = Type.Object(
  { projects: Type.Array(ProjectListItem), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() },
  { additionalProperties: false },
);
export const ListProjectsQuery = Type.Object({ ...OrgPaging, ...relatedFilters, team_id: Type.Optional(Uuid) });
export type ListProjectsQuery = Static<typeof ListProjectsQuery>;
