// Wire schemas shared by every resource: ids, timestamps, the error envelope, principals, metadata,
// JSON Patch and list paging. Limits and patterns follow the reference contract (tmi-openapi.json).
import { Type, type Static } from 'typebox';

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const UUID_RE = new RegExp(UUID_PATTERN);

export const Uuid = Type.String({ format: 'uuid', pattern: UUID_PATTERN, maxLength: 36 });
export const DateTime = Type.String({ format: 'date-time', maxLength: 32 });
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** Text patterns of the contract. */
export const NO_CONTROL = '^[^\\x00-\\x1F]*$';
export const SAFE_NAME = '^[^<>"\'&]*$';
export const DESCRIPTION_TEXT = '^[^<>\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]*$';
export const MULTILINE_TEXT = '^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]*$';
export const ISSUE_URI =
  '^$|^\\s*https?:\\/\\/[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*(:[0-9]{1,5})?(\\/[^\\s]*)?\\s*$';

export const ErrorBody = Type.Object(
  {
    error: Type.String({ maxLength: 1000 }),
    error_description: Type.String({ maxLength: 1000 }),
    error_uri: Type.Optional(Type.String({ maxLength: 1000 })),
    details: Type.Optional(
      Nullable(
        Type.Object(
          {
            code: Type.Optional(Type.String()),
            context: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            suggestion: Type.Optional(Type.String()),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { $id: 'Error', additionalProperties: false },
);

export const PrincipalType = Type.Union([Type.Literal('user'), Type.Literal('group')]);
export const Role = Type.Union([Type.Literal('reader'), Type.Literal('writer'), Type.Literal('owner')]);
export type Role = Static<typeof Role>;

const principalFields = {
  principal_type: PrincipalType,
  provider: Type.String({ maxLength: 100, pattern: '^(\\*|[a-zA-Z][a-zA-Z0-9_*-]*)$' }),
  provider_id: Type.String({ minLength: 1, maxLength: 500, pattern: SAFE_NAME }),
  display_name: Type.Optional(Type.String({ maxLength: 256, pattern: NO_CONTROL })),
  email: Type.Optional(Type.String({ maxLength: 254 })),
};

export const User = Type.Object({
  principal_type: Type.Literal('user'),
  provider: Type.String(),
  provider_id: Type.String(),
  display_name: Type.String(),
  email: Type.String(),
});
export type User = Static<typeof User>;

/** An authorization entry as clients send it; display_name and email are informative only. */
export const AuthorizationInput = Type.Object({ ...principalFields, role: Role });
export type AuthorizationInput = Static<typeof AuthorizationInput>;

export const Authorization = Type.Object({
  principal_type: PrincipalType,
  provider: Type.String(),
  provider_id: Type.String(),
  display_name: Type.Optional(Type.String()),
  email: Type.Optional(Type.String()),
  role: Role,
});
export type Authorization = Static<typeof Authorization>;

export const METADATA_KEY_PATTERN = '^[a-zA-Z0-9_./:-]+$';
export const Metadata = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 256, pattern: METADATA_KEY_PATTERN }),
    value: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type Metadata = Static<typeof Metadata>;

export const JsonPatchOperation = Type.Object(
  {
    op: Type.Union(['add', 'replace', 'remove', 'move', 'copy', 'test'].map((o) => Type.Literal(o))),
    path: Type.String({ maxLength: 512, pattern: '^(/[^/]*)*$' }),
    from: Type.Optional(Type.String({ maxLength: 512, pattern: '^(/[^/]*)*$' })),
    value: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
export const JsonPatchDocument = Type.Array(JsonPatchOperation, { maxItems: 1000 });
export type JsonPatchDocument = Static<typeof JsonPatchDocument>;

export const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
};

export const ThreatModelIdParams = Type.Object({ threat_model_id: Uuid });
