// Assets on the wire: AssetInput (POST/PUT), Asset, bulk items and the list envelope (reference AssetBase).
import { Type, type Static } from 'typebox';
import { Literals, Nullable } from './common.ts';
import { BulkId, listEnvelope, serverFields } from './children.ts';
import { ASSET_TEXT, ASSET_TYPES } from './limits.ts';

export const assetFields = {
  name: Type.String(ASSET_TEXT.name),
  description: Type.Optional(Nullable(Type.String(ASSET_TEXT.description))),
  type: Literals(ASSET_TYPES),
  criticality: Type.Optional(Nullable(Type.String(ASSET_TEXT.attribute))),
  classification: Type.Optional(Nullable(Type.Array(Type.String(ASSET_TEXT.attribute), { maxItems: 50 }))),
  sensitivity: Type.Optional(Nullable(Type.String(ASSET_TEXT.attribute))),
  include_in_report: Type.Optional(Type.Boolean()),
  timmy_enabled: Type.Optional(Type.Boolean()),
};

export const AssetInput = Type.Object(assetFields);
export type AssetInput = Static<typeof AssetInput>;
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
export type Asset = Static<typeof Asset>;
export const ListAssetsResponse = listEnvelope('assets', Asset);
export type ListAssetsResponse = Static<typeof ListAssetsResponse>;
