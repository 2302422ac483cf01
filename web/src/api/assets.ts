// Assets of a threat model: /threat_models/{id}/assets.
import type { Asset, AssetInput, ListAssetsResponse } from '../../../contract/assets.ts';
import { childCollection } from './children.ts';

export const assets = childCollection<ListAssetsResponse, Asset, AssetInput>('assets');
