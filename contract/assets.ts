// Assets on the wire: AssetInput (POST/PUT), Asset, bulk items and the list envelope (reference AssetBase).
import { Type } from 'typebox';
import { DESCRIPTION_TEXT, Nullable } from './common.ts';
import { BulkId, NAME, SHORT_TEXT, listEnvelope, serverFields } from './children.ts';

export const ASSET_TYPES = ['data', 'hardware', 'software', 'infrastructure', 'service', 'personnel'] as const;

export const assetFields = {
  name: Type.String({ minLength: 1, maxLength: 256, pattern: NAME }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 2048, pattern: DESCRIPTION_TEXT }))),
  type: Type.Union(ASSET_TYPES.map((t) => Type.Literal(t))),
  criticality: Type.Optional(Nullable(Type.String({ maxLength: 128, pattern: SHORT_TEXT }))),
  classification: Type.Optional(Nullable(Type.Array(Type.String({ maxLength: 128, pattern: SHORT_TEXT }), { maxItems: 50 }))),
  sensitivity: Type.Optional(Nullable(Type.String({ maxLength: 128, pattern: SHORT_TEXT }))),
  include_in_report: Type.Optional(Type.Boolean()),
  timmy_enabled: Type.Optional(Type.Boolean()),
};

export const AssetInput = Type.Object(assetFields);
export const AssetBulkCreateItem = Type.Object({ ...assetFields, id: Type.Optional(BulkId) });
export const AssetBulkUpdateItem = Type.Object({ ...assetFields, id: BulkId });

export const Asset = Type.Object({
  ...serverFields(true),
  name: Type.String(),
  description: Type.Optional(Nullable(Type.String())),
  type: Type.String(),
  criticality: Type.Optional(Nullable(Type.String())),
  classification: Type.Optional(Nullable(Type.Array(Type.String()))),
  sensitivity: Type.Optional(Nullable(Type.String())),
  include_in_report: Type.Boolean(),
  timmy_enabled: Type.Boolean(),
});
export const ListAssetsResponse = listEnvelope('assets', Asset);
