// Repositories on the wire: RepositoryInput (POST/PUT), Repository, bulk items, list envelope.
import { Type, type Static } from 'typebox';
import { Literals, Nullable } from './common.ts';
import { BulkId, listEnvelope, serverFields } from './children.ts';
import { REPOSITORY_TEXT, REPOSITORY_TYPES } from './limits.ts';

export const RepositoryParameters = Type.Object(
  {
    refType: Type.Union([Type.Literal('branch'), Type.Literal('tag'), Type.Literal('commit')]),
    refValue: Type.String(REPOSITORY_TEXT.reference),
    subPath: Type.Optional(Type.String(REPOSITORY_TEXT.reference)),
  },
  { additionalProperties: false },
);

export const repositoryFields = {
  name: Type.Optional(Nullable(Type.String(REPOSITORY_TEXT.name))),
  description: Type.Optional(Nullable(Type.String(REPOSITORY_TEXT.description))),
  type: Type.Optional(Nullable(Literals(REPOSITORY_TYPES))),
  parameters: Type.Optional(RepositoryParameters),
  uri: Type.String(REPOSITORY_TEXT.uri),
  include_in_report: Type.Optional(Type.Boolean()),
  timmy_enabled: Type.Optional(Type.Boolean()),
};

export const RepositoryInput = Type.Object(repositoryFields);
export type RepositoryInput = Static<typeof RepositoryInput>;
export const RepositoryBulkCreateItem = Type.Object({ ...repositoryFields, id: Type.Optional(BulkId) });
/** The reference requires `name` on bulk update items. */
export const RepositoryBulkUpdateItem = Type.Object({
  ...repositoryFields,
  id: BulkId,
  name: Type.String(REPOSITORY_TEXT.name),
});

export const Repository = Type.Object({
  ...serverFields(false),
  name: Type.Optional(Nullable(Type.String())),
  description: Type.Optional(Nullable(Type.String())),
  type: Type.Optional(Nullable(Type.String())),
  parameters: Type.Optional(Type.Object({ refType: Type.String(), refValue: Type.String(), subPath: Type.Optional(Type.String()) })),
  uri: Type.String(),
  include_in_report: Type.Boolean(),
  timmy_enabled: Type.Boolean(),
});
export type Repository = Static<typeof Repository>;
export const ListRepositoriesResponse = listEnvelope('repositories', Repository);
export type ListRepositoriesResponse = Static<typeof ListRepositoriesResponse>;
