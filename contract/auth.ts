// Sign-in and account schemas: providers, authorize query, token exchange, userinfo, /me.
import { Type, type Static } from 'typebox';
import { CLIENT_CREDENTIAL_TEXT } from './limits.ts';
import { AdminUser } from './admin.ts';

export const ProvidersResponse = Type.Object({
  providers: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      icon: Type.String(),
      auth_url: Type.String(),
      token_url: Type.String(),
      redirect_uri: Type.String(),
      client_id: Type.String(),
    }),
  ),
});
export type ProvidersResponse = Static<typeof ProvidersResponse>;

export const SamlProvidersResponse = Type.Object(
  {
    providers: Type.Array(
      Type.Object(
        {
          id: Type.String({ maxLength: 1000 }),
          name: Type.String({ maxLength: 256 }),
          icon: Type.String({ maxLength: 1000 }),
          auth_url: Type.String({ maxLength: 1024 }),
          metadata_url: Type.String({ maxLength: 1024 }),
          entity_id: Type.String({ maxLength: 1000 }),
          acs_url: Type.String({ maxLength: 1024 }),
          slo_url: Type.Optional(Type.String({ maxLength: 1024 })),
          initialized: Type.Boolean(),
        },
        { additionalProperties: false },
      ),
      { maxItems: 1000 },
    ),
  },
  { additionalProperties: false },
);
export type SamlProvidersResponse = Static<typeof SamlProvidersResponse>;

export const AuthorizeQuery = Type.Object({
  idp: Type.Optional(Type.String({ maxLength: 100, pattern: '^[a-zA-Z][a-zA-Z0-9_-]*$' })),
  client_callback: Type.Optional(Type.String({ maxLength: 2048 })),
  state: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^[a-zA-Z0-9_~.+/=-]*$' })),
  login_hint: Type.Optional(Type.String({ maxLength: 254, pattern: '^[a-zA-Z0-9._%+-@]+$' })),
  scope: Type.Optional(Type.String({ maxLength: 256 })),
  response_type: Type.Optional(Type.String({ maxLength: 32 })),
  code_challenge: Type.Optional(Type.String({ maxLength: 256 })),
  code_challenge_method: Type.Optional(Type.String({ maxLength: 16 })),
});

/** JSON or form body of POST /oauth2/token. */
export const TokenRequest = Type.Object(
  {
    grant_type: Type.String({ maxLength: 64 }),
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    code_verifier: Type.Optional(Type.String({ maxLength: 256 })),
    redirect_uri: Type.Optional(Type.String({ maxLength: 2048 })),
    refresh_token: Type.Optional(Type.String({ maxLength: 512 })),
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
    client_secret: Type.Optional(Type.String({ maxLength: 256 })),
    state: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  expires_in: Type.Integer(),
  token_type: Type.String(),
});
export type TokenResponse = Static<typeof TokenResponse>;

export const IntrospectionResponse = Type.Object({
  active: Type.Boolean(),
  sub: Type.Optional(Type.String()),
  email: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  idp: Type.Optional(Type.String()),
  iat: Type.Optional(Type.Integer()),
  exp: Type.Optional(Type.Integer()),
  iss: Type.Optional(Type.String()),
  token_type: Type.Optional(Type.String()),
  scope: Type.Optional(Type.String()),
});

export const UserInfoResponse = Type.Object({
  sub: Type.String(),
  email: Type.String(),
  email_verified: Type.Optional(Type.Boolean()),
  name: Type.String(),
  idp: Type.String(),
  groups: Type.Optional(Type.Array(Type.String())),
});

export const MeResponse = Type.Object({
  principal_type: Type.Literal('user'),
  provider: Type.String(),
  provider_id: Type.String(),
  display_name: Type.String(),
  email: Type.String(),
  is_admin: Type.Boolean(),
  is_security_reviewer: Type.Boolean(),
  groups: Type.Array(Type.Object({ internal_uuid: Type.String(), group_name: Type.String(), name: Type.String() })),
});
export type MeResponse = Static<typeof MeResponse>;

/** GET /oauth2/step_up. `scope` and `response_type` are read only to refuse them as the reference does. */
export const StepUpQuery = Type.Object({
  client_callback: Type.Optional(Type.String({ maxLength: 2048 })),
  state: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^[a-zA-Z0-9_~.+/=-]*$' })),
  code_challenge: Type.Optional(Type.String({ maxLength: 256 })),
  code_challenge_method: Type.Optional(Type.String({ maxLength: 16 })),
  scope: Type.Optional(Type.String({ maxLength: 256 })),
  response_type: Type.Optional(Type.String({ maxLength: 32 })),
});

export const StepUpResponse = Type.Object({
  result: Type.Union([Type.Literal('step_up_weak_complete'), Type.Literal('step_up_redirect')]),
  redirect_url: Type.Optional(Type.String({ maxLength: 4096 })),
});
export type StepUpResponse = Static<typeof StepUpResponse>;

// ---- service accounts (client credentials) -------------------------------------------------

export const ClientCredentialCreate = Type.Object(
  {
    name: Type.String(CLIENT_CREDENTIAL_TEXT.name),
    description: Type.Optional(Type.String(CLIENT_CREDENTIAL_TEXT.description)),
    expires_at: Type.Optional(Type.String({ format: 'date-time', maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type ClientCredentialCreate = Static<typeof ClientCredentialCreate>;

export const ClientCredentialResponse = Type.Object({
  id: Type.String({ format: 'uuid' }),
  client_id: Type.String({ pattern: '^tmi_cc_[A-Za-z0-9_-]+$' }),
  client_secret: Type.String(),
  name: Type.String(),
  description: Type.Optional(Type.String()),
  created_at: Type.String(),
  expires_at: Type.Optional(Type.String()),
});
export type ClientCredentialResponse = Static<typeof ClientCredentialResponse>;

export const ClientCredentialInfo = Type.Object({
  id: Type.String({ format: 'uuid' }),
  client_id: Type.String(),
  name: Type.String(),
  description: Type.Optional(Type.String()),
  is_active: Type.Boolean(),
  last_used_at: Type.Optional(Type.String()),
  created_at: Type.String(),
  modified_at: Type.String(),
  expires_at: Type.Optional(Type.String()),
});
export type ClientCredentialInfo = Static<typeof ClientCredentialInfo>;

export const ClientCredentialList = Type.Object({
  credentials: Type.Array(ClientCredentialInfo, { maxItems: 1000 }),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});
export type ClientCredentialList = Static<typeof ClientCredentialList>;

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
});

export const CreateAutomationAccount = Type.Object(
  {
    name: Type.String({ minLength: 2, maxLength: 64, pattern: '^[a-zA-Z][a-zA-Z0-9 _.@-]*[a-zA-Z0-9]$' }),
    email: Type.Optional(Type.String({ maxLength: 254, pattern: '^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$' })),
  },
  { additionalProperties: false },
);

export const CreateAutomationAccountResponse = Type.Object({ user: AdminUser, client_credential: ClientCredentialResponse });

// ---- linked identities --------------------------------------------------------------------

export const LinkedIdentity = Type.Object({
  id: Type.String({ format: 'uuid' }),
  provider: Type.String(),
  provider_user_id: Type.String(),
  email: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  linked_at: Type.String(),
  last_used_at: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
export type LinkedIdentity = Static<typeof LinkedIdentity>;

export const MyIdentities = Type.Object({
  primary: Type.Object({ provider: Type.String(), email: Type.String(), name: Type.Optional(Type.String()) }),
  linked: Type.Array(LinkedIdentity, { maxItems: 500 }),
});
export type MyIdentities = Static<typeof MyIdentities>;

export const IdentityLinkStartQuery = Type.Object({
  idp: Type.Optional(Type.String({ maxLength: 100, pattern: '^[a-zA-Z][a-zA-Z0-9_-]*$' })),
  client_callback: Type.Optional(Type.String({ maxLength: 2048 })),
});

export const IdentityLinkStartResponse = Type.Object({ link_state: Type.String(), authorization_url: Type.String(), expires_at: Type.String() });
export type IdentityLinkStartResponse = Static<typeof IdentityLinkStartResponse>;

export const PendingIdentityLink = Type.Object({
  pending: Type.Object({ provider: Type.String(), provider_user_id: Type.String(), email: Type.Optional(Type.String()), name: Type.Optional(Type.String()) }),
  account: Type.Object({ provider: Type.String(), email: Type.String() }),
});
export type PendingIdentityLink = Static<typeof PendingIdentityLink>;

export const IdentityLinkConfirm = Type.Object({ token: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });

// ---- provider directories -----------------------------------------------------------------

export const ProviderGroups = Type.Object(
  {
    idp: Type.String(),
    groups: Type.Array(
      Type.Object({ name: Type.String({ maxLength: 256 }), display_name: Type.Optional(Type.String({ maxLength: 256 })), used_in_authorizations: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      { maxItems: 1000 },
    ),
  },
  { additionalProperties: false },
);

export const SamlUsers = Type.Object({
  idp: Type.String(),
  users: Type.Array(Type.Object({ internal_uuid: Type.String(), email: Type.String(), name: Type.String(), last_login: Type.Optional(Type.String()) })),
  total: Type.Integer(),
});
