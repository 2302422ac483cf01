// Sign-in and account schemas: providers, authorize query, token exchange, userinfo, /me.
import { Type, type Static } from 'typebox';

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
