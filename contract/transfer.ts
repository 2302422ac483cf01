// Import and export of whole threat models (TMI-TS extension): the formats, the import query and
// the import answer (the new model and the report of what could and could not be mapped).
import { Type, type Static } from 'typebox';
import { ThreatModel } from './threat-models.ts';

import { EXPORT_FORMATS, IMPORT_FORMATS } from './limits.ts';

export { EXPORT_FORMATS, IMPORT_FORMATS, IMPORT_MEDIA_TYPES, type ExportFormatName, type ImportFormatName } from './limits.ts';

export const ImportQuery = Type.Object(
  {
    format: Type.Optional(Type.Union(IMPORT_FORMATS.map((f) => Type.Literal(f)), { description: 'The file\'s format; detected from its content when absent' })),
    file_name: Type.Optional(Type.String({ maxLength: 255, pattern: '^[^\\x00-\\x1F]*$', description: 'The file\'s name (only breaks ties in detection, e.g. .tm7)' })),
  },
  { additionalProperties: false },
);
export type ImportQuery = Static<typeof ImportQuery>;

export const ExportQuery = Type.Object(
  { format: Type.Optional(Type.Union(EXPORT_FORMATS.map((f) => Type.Literal(f)), { description: 'tmi-json (default), threat-dragon (v2) or otm (0.2.0)' })) },
  { additionalProperties: false },
);
export type ExportQuery = Static<typeof ExportQuery>;

const Counts = Type.Object({
  diagrams: Type.Integer(),
  elements: Type.Integer(),
  flows: Type.Integer(),
  boundaries: Type.Integer(),
  threats: Type.Integer(),
  assets: Type.Integer(),
});

export const ImportReport = Type.Object({
  format: Type.String({ description: 'tmi-json, threat-dragon-v1, threat-dragon-v2, otm, tm7 or threagile' }),
  format_name: Type.String(),
  found: Counts,
  imported: Counts,
  unmapped: Type.Array(Type.Object({ kind: Type.String(), source: Type.String(), reason: Type.String() })),
  notes: Type.Array(Type.String()),
});
export type ImportReport = Static<typeof ImportReport>;

export const ImportResponse = Type.Object({ threat_model: ThreatModel, report: ImportReport });
export type ImportResponse = Static<typeof ImportResponse>;
