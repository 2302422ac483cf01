// Wire schemas of administration and the caller's own account: users, ownership transfer, account
// deletion, TMI-managed groups, preferences and the system audit log. Shapes follow the reference
// contract (tmi-openapi.json); TMI-TS additions are optional fields (docs/compatibility.md).
import { Type, type Static } from 'typebox';
import { DateTime, Nullable, Uuid } from './common.ts';
import { SETTING_TEXT, SETTING_TYPES } from './limits.ts';

const EMAIL_PATTERN = '^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$';
const NO_CONTROL = '^[^\\x00-\\x1F]*$';

export const AdminUser = Type.Object({
  internal_uuid: Type.String(),
  provider: Type.String(),
  provider_user_id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  email_verified: Type.Boolean(),
  created_at: Type.String(),
  modified_at: Type.String(),
  last_login: Nullable(Type.String()),
  is_admin: Type.Boolean(),
  groups: Type.Array(Type.String()),
  automation: Nullable(Type.Boolean()),
  active_threat_models: Type.Optional(Type.Integer()),
  /** TMI-TS: false for a deactivated account (it can neither sign in nor use its tokens). */
  active: Type.Optional(Type.Boolean()),
});
export type AdminUser = Static<typeof AdminUser>;

export const AdminUserListQuery = Type.Object({
  provider: Type.Optional(Type.String({ maxLength: 256 })),
  email: Type.Optional(Type.String({ maxLength: 1024 })),
  name: Type.Optional(Type.String({ maxLength: 256, pattern: NO_CONTROL })),
  /** TMI-TS: one box that matches name or e-mail (the web app's search). */
  q: Type.Optional(Type.String({ maxLength: 256, pattern: NO_CONTROL })),
  created_after: Type.Optional(Type.String({ format: 'date-time' })),
  created_before: Type.Optional(Type.String({ format: 'date-time' })),
  last_login_after: Type.Optional(Type.String({ format: 'date-time' })),
  last_login_before: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000, default: 0 })),
  sort_by: Type.Optional(Type.Union([Type.Literal('created_at'), Type.Literal('last_login'), Type.Literal('email'), Type.Literal('name')])),
  sort_order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  automation: Type.Optional(Type.Boolean()),
  /** TMI-TS filters: administrators only / non-administrators only; active or deactivated accounts. */
  is_admin: Type.Optional(Type.Boolean()),
  active: Type.Optional(Type.Boolean()),
});
export type AdminUserListQuery = Static<typeof AdminUserListQuery>;

export const AdminUserList = Type.Object({
  users: Type.Array(AdminUser),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export const UpdateAdminUser = Type.Object(
  {
    email: Type.Optional(Type.String({ maxLength: 254, pattern: EMAIL_PATTERN })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: NO_CONTROL })),
    email_verified: Type.Optional(Type.Boolean()),
    /** TMI-TS: grant or withdraw the administrator role (membership of the administrators group). */
    is_admin: Type.Optional(Type.Boolean()),
    /** TMI-TS: deactivate (false) or reactivate (true) the account. */
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type UpdateAdminUser = Static<typeof UpdateAdminUser>;

export const UserIdParams = Type.Object({ user_id: Uuid });

export const DeleteAdminUserQuery = Type.Object({
  /** TMI-TS: give every model the user owns to this user instead of the default plan. */
  transfer_to: Type.Optional(Uuid),
});

export const TransferOwnershipRequest = Type.Object({ target_user_id: Uuid }, { additionalProperties: false });
export const TransferOwnershipResult = Type.Object(
  {
    threat_models_transferred: Type.Object({ count: Type.Integer(), threat_model_ids: Type.Array(Type.String()) }, { additionalProperties: false }),
    survey_responses_transferred: Type.Object({ count: Type.Integer(), survey_response_ids: Type.Array(Type.String()) }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
export type TransferOwnershipResult = Static<typeof TransferOwnershipResult>;

/** What deleting an account does to each model it owns (TMI-TS: shown before anything is deleted). */
export const DeletionPlan = Type.Object({
  transferred: Type.Array(Type.Object({ threat_model_id: Type.String(), name: Type.String(), new_owner_uuid: Type.String(), new_owner_email: Type.String() })),
  deleted: Type.Array(Type.Object({ threat_model_id: Type.String(), name: Type.String() })),
});
export type DeletionPlan = Static<typeof DeletionPlan>;

export const DeletionChallenge = Type.Object({
  challenge_text: Type.String({ maxLength: 1000 }),
  expires_at: Type.String(),
  /** TMI-TS: what the deletion will do to the models the caller owns. */
  plan: Type.Optional(DeletionPlan),
});

export const DeleteMeQuery = Type.Object({
  challenge: Type.Optional(Type.String({ maxLength: 1000, pattern: NO_CONTROL })),
  /** TMI-TS: give every model the caller owns to this user instead of the default plan. */
  transfer_to: Type.Optional(Uuid),
});

export { DateTime };

// ---- groups -----------------------------------------------------------------------------------
export const AdminGroup = Type.Object({
  internal_uuid: Type.String(),
  provider: Type.String(),
  group_name: Type.String(),
  name: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  first_used: Type.String(),
  last_used: Type.String(),
  usage_count: Type.Integer(),
  used_in_authorizations: Type.Boolean(),
  used_in_admin_grants: Type.Boolean(),
  member_count: Type.Integer(),
  is_builtin: Type.Boolean(),
});
export type AdminGroup = Static<typeof AdminGroup>;

export const AdminGroupListQuery = Type.Object({
  provider: Type.Optional(Type.String({ maxLength: 256 })),
  group_name: Type.Optional(Type.String({ maxLength: 1024 })),
  used_in_authorizations: Type.Optional(Type.Boolean()),
  built_in: Type.Optional(Type.Boolean()),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000, default: 0 })),
  sort_by: Type.Optional(Type.Union([Type.Literal('created_at'), Type.Literal('last_login'), Type.Literal('email'), Type.Literal('name')])),
  sort_order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
});
export type AdminGroupListQuery = Static<typeof AdminGroupListQuery>;

export const AdminGroupList = Type.Object({ groups: Type.Array(AdminGroup), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() });

export const CreateAdminGroup = Type.Object(
  {
    group_name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-zA-Z0-9_-]+$' }),
    name: Type.String({ minLength: 1, maxLength: 128, pattern: NO_CONTROL }),
    description: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false },
);
export type CreateAdminGroup = Static<typeof CreateAdminGroup>;

export const UpdateAdminGroup = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: NO_CONTROL })),
    description: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false },
);
export type UpdateAdminGroup = Static<typeof UpdateAdminGroup>;

export const GroupIdParams = Type.Object({ group_id: Uuid });
export const GroupMemberParams = Type.Object({ group_id: Uuid, member_uuid: Uuid });
export const MemberPageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000, default: 0 })),
});
export const RemoveMemberQuery = Type.Object({ subject_type: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('group')])) });

export const AddGroupMember = Type.Object(
  {
    user_internal_uuid: Type.Optional(Uuid),
    notes: Type.Optional(Type.String({ maxLength: 2048 })),
    subject_type: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('group')])),
    member_group_internal_uuid: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);
export type AddGroupMember = Static<typeof AddGroupMember>;

export const GroupMember = Type.Object({
  id: Type.String(),
  group_internal_uuid: Type.String(),
  subject_type: Type.Literal('user'),
  user_internal_uuid: Nullable(Type.String()),
  user_email: Nullable(Type.String()),
  user_name: Nullable(Type.String()),
  user_provider: Nullable(Type.String()),
  user_provider_user_id: Nullable(Type.String()),
  added_by_internal_uuid: Type.Optional(Nullable(Type.String())),
  added_by_email: Type.Optional(Nullable(Type.String())),
  added_at: Type.String(),
  notes: Type.Optional(Nullable(Type.String())),
});
export type GroupMember = Static<typeof GroupMember>;

export const GroupMemberList = Type.Object({ members: Type.Array(GroupMember), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() });

export const MyGroupList = Type.Object({
  groups: Type.Array(Type.Object({ internal_uuid: Type.String(), group_name: Type.String(), name: Type.Optional(Type.String()) })),
  total: Type.Integer(),
});

// ---- preferences and feedback -------------------------------------------------------------------
/** /me/preferences: client id -> that client's preferences (checked in full by the route). */
export const UserPreferences = Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()));

const SCREENSHOT = Type.String({ pattern: '^data:image/(jpeg|png|webp);base64,[A-Za-z0-9+/=]+$' });
const Sentiment = Type.Union([Type.Literal('up'), Type.Literal('down')]);
const ClientId = Type.String({ maxLength: 32, pattern: '^[a-z][a-z0-9_-]{0,31}$' });

export const UsabilityFeedbackInput = Type.Object(
  {
    sentiment: Sentiment,
    surface: Type.String({ maxLength: 32, pattern: '^[a-z][a-z0-9_.-]{0,31}$' }),
    client_id: ClientId,
    /** Too long is 413, as the reference (checked by the route). */
    verbatim: Type.Optional(Type.String()),
    client_version: Type.Optional(Type.String({ maxLength: 32 })),
    client_build: Type.Optional(Type.String({ pattern: '^[0-9a-f]{7,12}$' })),
    user_agent: Type.Optional(Type.String({ maxLength: 512 })),
    user_agent_data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    viewport: Type.Optional(Type.String({ pattern: '^\\d{1,5}x\\d{1,5}$' })),
    screenshot: Type.Optional(SCREENSHOT),
  },
  { additionalProperties: false },
);
export type UsabilityFeedbackInput = Static<typeof UsabilityFeedbackInput>;
export const UsabilityFeedback = Type.Object({
  ...UsabilityFeedbackInput.properties,
  id: Type.String(),
  created_by: Type.String(),
  created_at: Type.String(),
});
export const UsabilityFeedbackQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  sentiment: Type.Optional(Sentiment),
  client_id: Type.Optional(Type.String({ maxLength: 32 })),
  surface: Type.Optional(Type.String({ maxLength: 32 })),
  created_after: Type.Optional(Type.String({ format: 'date-time' })),
  created_before: Type.Optional(Type.String({ format: 'date-time' })),
});
export const UsabilityFeedbackList = Type.Object({ items: Type.Array(UsabilityFeedback), total: Type.Integer() });

export const FALSE_POSITIVE_SUBREASONS = {
  detection_misfired: ['code_does_not_exist', 'trigger_conditions_not_met'],
  real_but_mitigated: [],
  real_but_not_exploitable: [],
  out_of_scope: ['component_outside_threat_model'],
  intended_behavior: ['sanctioned_by_design'],
  duplicate: [],
  already_remediated: [],
  detection_rule_flawed: ['not_a_real_risk', 'needs_tuning'],
} as const satisfies Record<string, readonly string[]>;
const lits = (xs: readonly string[]) => Type.Union(xs.map((x) => Type.Literal(x)));

export const ContentFeedbackInput = Type.Object(
  {
    sentiment: Sentiment,
    target_type: Type.Union([Type.Literal('note'), Type.Literal('diagram'), Type.Literal('threat'), Type.Literal('threat_classification')]),
    target_id: Uuid,
    target_field: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    verbatim: Type.Optional(Type.String()),
    false_positive_reason: Type.Optional(lits(Object.keys(FALSE_POSITIVE_SUBREASONS))),
    false_positive_subreason: Type.Optional(lits(Object.values(FALSE_POSITIVE_SUBREASONS).flat())),
    client_id: ClientId,
    client_version: Type.Optional(Type.String({ maxLength: 32 })),
    screenshot: Type.Optional(SCREENSHOT),
  },
  { additionalProperties: false },
);
export type ContentFeedbackInput = Static<typeof ContentFeedbackInput>;
export const ContentFeedback = Type.Object({
  ...ContentFeedbackInput.properties,
  id: Type.String(),
  threat_model_id: Type.String(),
  created_by: Nullable(Type.String()),
  created_at: Type.String(),
});
export const ContentFeedbackQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  target_type: Type.Optional(Type.Union([Type.Literal('note'), Type.Literal('diagram'), Type.Literal('threat'), Type.Literal('threat_classification')])),
  target_id: Type.Optional(Uuid),
  sentiment: Type.Optional(Sentiment),
  false_positive_reason: Type.Optional(Type.String({ maxLength: 64 })),
});
export const ContentFeedbackList = Type.Object({ items: Type.Array(ContentFeedback), total: Type.Integer() });

// Runtime settings (/admin/settings). Secret values are shown as <configured> / <not configured>.
export const SettingType = Type.Unsafe<(typeof SETTING_TYPES)[number]>({ type: 'string', enum: [...SETTING_TYPES] });
const SettingKey = Type.String(SETTING_TEXT.key);
export const SystemSetting = Type.Object(
  {
    key: SettingKey,
    value: Type.String(SETTING_TEXT.value),
    type: SettingType,
    description: Type.Optional(Type.String(SETTING_TEXT.description)),
    modified_at: Type.Optional(DateTime),
    modified_by: Type.Optional(Uuid),
    /** `config`: TMI-TS, a known setting nobody set, at its built-in default (docs/compatibility.md). */
    source: Type.Optional(Type.Union([Type.Literal('database'), Type.Literal('config'), Type.Literal('environment'), Type.Literal('vault')])),
    read_only: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type SystemSetting = Static<typeof SystemSetting>;
export const SystemSettingList = Type.Array(SystemSetting, { maxItems: 1000 });
export const SystemSettingUpdate = Type.Object(
  {
    value: Type.String(SETTING_TEXT.value),
    type: SettingType,
    description: Type.Optional(Type.String(SETTING_TEXT.description)),
  },
  { additionalProperties: false },
);
export type SystemSettingUpdate = Static<typeof SystemSettingUpdate>;
export const SettingKeyParams = Type.Object({ key: SettingKey });
export const ReencryptResult = Type.Object({
  reencrypted: Type.Integer(),
  errors: Type.Array(Type.Object({ key: Type.String(), error: Type.String() }), { maxItems: 1000 }),
  total: Type.Integer(),
});
export type ReencryptResult = Static<typeof ReencryptResult>;
