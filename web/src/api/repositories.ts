// Source repositories of a threat model: /threat_models/{id}/repositories.
import type { ListRepositoriesResponse, Repository, RepositoryInput } from '../../../contract/repositories.ts';
import { childCollection } from './children.ts';

export const repositories = childCollection<ListRepositoriesResponse, Repository, RepositoryInput>('repositories');
