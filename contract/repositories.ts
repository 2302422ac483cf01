// Repositories on the wire: RepositoryInput (POST/PUT), Repository, bulk items, list envelope.
import { Type } from 'typebox';
import { DESCRIPTION_TEXT, Nullable } from './common.ts';
import { ANY_URI, BulkId, NAME, SHORT_TEXT, listEnvelope, serverFields } from './children.ts';

export const REPOSITORY_TYPES = ['git', 'svn', 'mercurial', 'other'] as const;

export const RepositoryParameters = Type.Object(
  {
    refType: Type.Union([Type.Literal('branch'), Type.Literal('tag'), Type.Literal('commit')]),
    refValue: Type.String({ maxLength: 256, pattern: SHORT_TEXT }),
    subPath: Type.Optional(Type.String({ maxLength: 256, pattern: SHORT_TEXT })),
  },
  { additionalProperties: false },
);

export const repositoryFields = {
  name: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 256, pattern: NAME }))),
  description: Type.Optional(Nullable(Type.String({ maxLength: 2048, pattern: DESCRIPTION_TEXT }))),
  type: Type.Optional(Nullable(Type.Union(REPOSITORY_TYPES.map((t) => Type.Literal(t))))),
  parameters: Type.Optional(RepositoryParameters),
  uri: Type.String({ minLength: 1, maxLength: 1000, pattern: ANY_URI }),
  include_in_report: Type.Optional(Type.Boolean()),
  timmy_enabled: Type.Optional(Type.Boolean()),
};

export const RepositoryInput = Type.Object(repositoryFields);
export const RepositoryBulkCreateItem = Type.Object({ ...repositoryFields, id: Type.Optional(BulkId) });
/** The reference requires `name` on bulk update items. */
export const RepositoryBulkUpdateItem = Type.Object({
  ...repositoryFields,
  id: BulkId,
  name: Type.String({ minLength: 1, maxLength: 256, pattern: NAME }),
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
export const ListRepositoriesResponse = listEnvelope('repositories', Repository);
