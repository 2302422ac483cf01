// The calls every child collection of a threat model answers (threats, assets, documents, notes,
// repositories): the first page of the list, get, create, replace (PUT) and delete.
import { MAX_PAGE_SIZE } from '../../../contract/limits.ts';
import { api, query, url } from './client.ts';

export interface ChildCollection<Item, Input, ListItem = Item> {
  /** The first page (as many as the API gives at once). */
  list(tmId: string, signal?: AbortSignal): Promise<ListItem[]>;
  get(tmId: string, id: string, signal?: AbortSignal): Promise<Item>;
  create(tmId: string, body: Input): Promise<Item>;
  replace(tmId: string, id: string, body: Input): Promise<Item>;
  remove(tmId: string, id: string): Promise<void>;
}

type Envelope = { total: number; limit: number; offset: number };
/** The key of a list envelope that holds the items: `threats` in ListThreatsResponse. */
type ItemsKey<List> = Exclude<keyof List, keyof Envelope> & string;
type ItemOf<List> = List[ItemsKey<List>] extends (infer T)[] ? T : never;

export function childCollection<List extends Envelope, Item, Input>(segment: ItemsKey<List>): ChildCollection<Item, Input, ItemOf<List>> {
  const base = (tmId: string) => `${url`/threat_models/${tmId}`}/${segment}`;
  const one = (tmId: string, id: string) => `${base(tmId)}${url`/${id}`}`;
  return {
    list: async (tmId, signal) => (await api.get<List>(`${base(tmId)}${query({ limit: MAX_PAGE_SIZE })}`, signal))[segment] as ItemOf<List>[],
    get: (tmId, id, signal) => api.get<Item>(one(tmId, id), signal),
    create: (tmId, body) => api.post<Item>(base(tmId), body),
    replace: (tmId, id, body) => api.put<Item>(one(tmId, id), body),
    remove: (tmId, id) => api.del(one(tmId, id)),
  };
}
