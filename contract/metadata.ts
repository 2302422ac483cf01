// Metadata endpoints on the wire: the item is `Metadata` (contract/common.ts); lists and bulk
// results are bare arrays; PUT .../metadata/{key} takes the value only (the full entry for assets).
import { Type } from 'typebox';
import { Metadata } from './common.ts';
import { NO_CONTROL } from './limits.ts';

export const MetadataList = Type.Array(Metadata);
export const MetadataValueBody = Type.Object(
  { value: Type.String({ minLength: 1, maxLength: 1000, pattern: NO_CONTROL }) },
  { additionalProperties: false },
);
/** Assets' PUT takes `Metadata` in the contract; the key may be left out (it is in the path), as clients do. */
export const MetadataEntryBody = Type.Object(
  { key: Type.Optional(Metadata.properties.key), value: Metadata.properties.value },
  { additionalProperties: false },
);
export const MetadataKeyParam = Type.String({ minLength: 1, maxLength: 255 });
export const metadataBulkBody = (limit: number) => Type.Array(Metadata, { maxItems: limit });
