// Wire schemas shared by every resource: ids, timestamps, the error envelope, principals, metadata,
// JSON Patch and list paging. Limits and patterns follow the reference API (deviations: docs/compatibility.md).
import { Type, type Static, type TLiteral, type TUnion } from 'typebox';
import { MAX_PAGE_SIZE, METADATA_TEXT, NO_CONTROL, ROLES, SAFE_NAME, UUID_PATTERN } from './limits.ts';

export const UUID_RE = new RegExp(UUID_PATTERN);

export const Uuid = Type.String({ format: 'uuid', pattern: UUID_PATTERN, maxLength: 36 });
export const DateTime = Type.String({ format: 'date-time', maxLength: 32 });
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
/** One of these strings: a union of literals, typed as the union of the values (Type.Union of a mapped list would type as never). */
export const Literals = <const T extends readonly string[]>(values: T) =>
  Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }>;

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
export type ErrorBody = Static<typeof ErrorBody>;

export const PrincipalType = Type.Union([Type.Literal('user'), Type.Literal('group')]);
export const Role = Literals(ROLES);
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

export const Metadata = Type.Object(
  {
    key: Type.String(METADATA_TEXT.key),
    value: Type.String(METADATA_TEXT.value),
  },
  { additionalProperties: false },
);
export type Metadata = Static<typeof Metadata>;

export const JsonPatchOperation = Type.Object(
  {
    op: Literals(['add', 'replace', 'remove', 'move', 'copy', 'test']),
    path: Type.String({ maxLength: 512, pattern: '^(/[^/]*)*$' }),
    from: Type.Optional(Type.String({ maxLength: 512, pattern: '^(/[^/]*)*$' })),
    value: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
export type JsonPatchOperation = Static<typeof JsonPatchOperation>;
export const JsonPatchDocument = Type.Array(JsonPatchOperation, { maxItems: 1000 });
export type JsonPatchDocument = Static<typeof JsonPatchDocument>;

export const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
};

export const ThreatModelIdParams = Type.Object({ threat_model_id: Uuid });
