// Diagrams on the wire (DFD-1.0.0): create/put inputs, the diagram, its list item, the X6 cells
// (Node: actor, process, store, security-boundary, text-box; Edge: flow) and the minimal model.
// Limits and patterns follow the reference API (deviations: docs/compatibility.md).
import { Type, type Static } from 'typebox';
import { DateTime, Literals, Metadata, Nullable, Paging, Uuid } from './common.ts';
import { COLOR_PATTERN, DASH_PATTERN, DIAGRAM_TEXT, DIAGRAM_TYPE, EDGE_SHAPE, NO_CONTROL, NODE_MIN_SIZE, NODE_SHAPES, PORT_SIDES, UUID_PATTERN } from './limits.ts';

export { DIAGRAM_TYPE, NODE_SHAPES };
export const MAX_CELLS = 10_000;
/** One cell's JSON text; a node with many ports or an edge with many vertices stays well below. */
export const MAX_CELL_BYTES = 256 * 1024;

const COLOR = Type.String({ maxLength: 32, pattern: COLOR_PATTERN });
const DASHES = Nullable(Type.String({ maxLength: 64, pattern: DASH_PATTERN }));
const NUM_OR_PCT = Type.Union([Type.Number(), Type.String({ pattern: '^\\d+%$', maxLength: 16 })]);
const LABEL_TEXT = Type.String(DIAGRAM_TEXT.label);
const FONT_FAMILY = Type.String({ maxLength: 64, pattern: "^[a-zA-Z0-9 ,'-]*$" });
const closed = { additionalProperties: false } as const;

export const CellData = Type.Object(
  {
    _metadata: Type.Optional(Type.Array(Metadata, { maxItems: 100 })),
    security_boundary: Type.Optional(Type.Boolean()),
    data_assets: Type.Optional(Type.Array(Type.String({ format: 'uuid', pattern: UUID_PATTERN, maxLength: 36 }), { minItems: 1, maxItems: 100, uniqueItems: true })),
  },
  { additionalProperties: true },
);

export const NodeAttrs = Type.Object(
  {
    body: Type.Optional(
      Type.Object(
        {
          fill: Type.Optional(COLOR),
          stroke: Type.Optional(COLOR),
          strokeWidth: Type.Optional(Type.Number({ minimum: 0 })),
          strokeDasharray: Type.Optional(DASHES),
          rx: Type.Optional(Type.Number({ minimum: 0 })),
          ry: Type.Optional(Type.Number({ minimum: 0 })),
          lateral: Type.Optional(Type.Number()),
          refWidth: Type.Optional(NUM_OR_PCT),
          refHeight: Type.Optional(NUM_OR_PCT),
          fillOpacity: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
        },
        closed,
      ),
    ),
    text: Type.Optional(
      Type.Object(
        {
          text: Type.Optional(LABEL_TEXT),
          fontSize: Type.Optional(Type.Number({ minimum: 1 })),
          fill: Type.Optional(COLOR),
          fontFamily: Type.Optional(FONT_FAMILY),
          refX: Type.Optional(NUM_OR_PCT),
          refY: Type.Optional(NUM_OR_PCT),
          refDx: Type.Optional(Type.Number()),
          refDy: Type.Optional(Type.Number()),
          refX2: Type.Optional(NUM_OR_PCT),
          refY2: Type.Optional(NUM_OR_PCT),
          textAnchor: Type.Optional(Type.Union([Type.Literal('start'), Type.Literal('middle'), Type.Literal('end')])),
          textVerticalAnchor: Type.Optional(Type.Union([Type.Literal('top'), Type.Literal('middle'), Type.Literal('bottom')])),
        },
        closed,
      ),
    ),
  },
  closed,
);

const PORT_SIDE = Literals(PORT_SIDES);

export const PortConfiguration = Type.Object(
  {
    groups: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Object({ position: Type.Optional(PORT_SIDE), attrs: Type.Optional(Type.Record(Type.String(), Type.Unknown())) })),
    ),
    items: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.String({ maxLength: 64, pattern: NO_CONTROL }),
          group: Type.String({ maxLength: 32, pattern: NO_CONTROL }),
          attrs: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        }),
        { maxItems: 1000 },
      ),
    ),
  },
  closed,
);

const CELL_ID = Type.String({ format: 'uuid', maxLength: 36, pattern: UUID_PATTERN });

/** A node as clients send it: geometry nested (position + size) or flat (x, y, width, height). */
export const Node = Type.Object({
  id: CELL_ID,
  shape: Literals(NODE_SHAPES),
  position: Type.Optional(Type.Object({ x: Type.Number(), y: Type.Number() }, closed)),
  size: Type.Optional(Type.Object({ width: Type.Number({ minimum: NODE_MIN_SIZE.width }), height: Type.Number({ minimum: NODE_MIN_SIZE.height }) }, closed)),
  x: Type.Optional(Type.Number()),
  y: Type.Optional(Type.Number()),
  width: Type.Optional(Type.Number({ minimum: NODE_MIN_SIZE.width })),
  height: Type.Optional(Type.Number({ minimum: NODE_MIN_SIZE.height })),
  angle: Type.Optional(Type.Number()),
  attrs: Type.Optional(NodeAttrs),
  ports: Type.Optional(PortConfiguration),
  parent: Type.Optional(Nullable(Type.Union([Type.Literal(''), CELL_ID]))),
  children: Type.Optional(Type.Array(CELL_ID, { maxItems: 1000 })),
  data: Type.Optional(CellData),
});

export const EdgeTerminal = Type.Object({ cell: CELL_ID, port: Type.Optional(Nullable(Type.String({ maxLength: 64, pattern: NO_CONTROL }))) }, closed);

const MARKER = Type.Object(
  { name: Type.Optional(Literals(['classic', 'block', 'diamond', 'circle'])), size: Type.Optional(Type.Number({ minimum: 1 })) },
  closed,
);

export const EdgeAttrs = Type.Object(
  {
    line: Type.Optional(
      Type.Object(
        {
          stroke: Type.Optional(COLOR),
          strokeWidth: Type.Optional(Type.Number({ minimum: 0 })),
          strokeDasharray: Type.Optional(DASHES),
          targetMarker: Type.Optional(MARKER),
          sourceMarker: Type.Optional(MARKER),
        },
        closed,
      ),
    ),
  },
  closed,
);

const LABEL_ATTRS = Type.Object(
  { text: Type.Optional(LABEL_TEXT), fontSize: Type.Optional(Type.Number({ minimum: 1 })), fill: Type.Optional(COLOR), fontFamily: Type.Optional(FONT_FAMILY) },
  closed,
);

/** `text` is the contract's selector; `label` is the one X6's default label markup uses (`edge.appendLabel('x')`). */
export const EdgeLabel = Type.Object(
  {
    attrs: Type.Optional(Type.Object({ text: Type.Optional(LABEL_ATTRS), label: Type.Optional(LABEL_ATTRS) }, closed)),
    position: Type.Optional(
      Type.Union([
        Type.Number(),
        Type.Object(
          {
            distance: Type.Number(),
            offset: Type.Optional(Type.Union([Type.Number(), Type.Object({ x: Type.Optional(Type.Number()), y: Type.Optional(Type.Number()) }, closed)])),
            angle: Type.Optional(Type.Number()),
            options: Type.Optional(
              Type.Object(
                {
                  absoluteDistance: Type.Optional(Type.Boolean()),
                  reverseDistance: Type.Optional(Type.Boolean()),
                  absoluteOffset: Type.Optional(Type.Boolean()),
                  keepGradient: Type.Optional(Type.Boolean()),
                  ensureLegibility: Type.Optional(Type.Boolean()),
                },
                closed,
              ),
            ),
          },
          closed,
        ),
      ]),
    ),
  },
  closed,
);

export const Point = Type.Object({ x: Type.Number(), y: Type.Number() }, closed);

const ROUTERS = ['normal', 'orth', 'one_side', 'manhattan', 'metro', 'er'];
const CONNECTORS = ['normal', 'rounded', 'smooth', 'jumpover'];
const named = (names: string[]) =>
  Type.Union([
    Literals(names),
    Type.Object({ name: Literals(names), args: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }, closed),
  ]);

export const Edge = Type.Object({
  id: CELL_ID,
  shape: Type.Literal(EDGE_SHAPE),
  source: EdgeTerminal,
  target: EdgeTerminal,
  attrs: Type.Optional(EdgeAttrs),
  labels: Type.Optional(Type.Array(EdgeLabel, { maxItems: 1000 })),
  vertices: Type.Optional(Type.Array(Point, { maxItems: 1000 })),
  router: Type.Optional(named(ROUTERS)),
  connector: Type.Optional(named(CONNECTORS)),
  defaultLabel: Type.Optional(EdgeLabel),
  data: Type.Optional(CellData),
});

/** A cell as stored and returned: flat geometry for nodes, `parent: null` emitted. */
export type CellJson = Record<string, unknown> & { id: string; shape: string };

/** Cells arrive as objects; each one is checked against Node or Edge by its shape (see cells.ts). */
export const CellInput = Type.Object({ id: Type.Unknown(), shape: Type.Unknown() }, { additionalProperties: true, description: 'A Node (actor, process, store, security-boundary, text-box) or an Edge (flow)' });
const Cells = Type.Array(CellInput, { maxItems: MAX_CELLS });

export const ColorPaletteEntry = Type.Object({
  position: Type.Integer({ minimum: 1, maximum: 8 }),
  color: Type.String({ minLength: 4, maxLength: 7, pattern: '^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$' }),
});

export const DiagramImage = Type.Object(
  {
    svg: Type.Optional(Type.String({ maxLength: 102_400, pattern: '^[A-Za-z0-9+/]*=*$' })),
    update_vector: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  closed,
);

const DiagramTypeLiteral = Type.Literal(DIAGRAM_TYPE);

export const CreateDiagramRequest = Type.Object(
  {
    name: Type.String(DIAGRAM_TEXT.create_name),
    type: DiagramTypeLiteral,
  },
  closed,
);
export type CreateDiagramRequest = Static<typeof CreateDiagramRequest>;

/** PUT body. Open, as the reference: unknown top-level fields are ignored, not stored. */
export const DfdDiagramInput = Type.Object({
  name: Type.String(DIAGRAM_TEXT.name),
  type: DiagramTypeLiteral,
  cells: Cells,
  description: Type.Optional(Nullable(Type.String(DIAGRAM_TEXT.description))),
  metadata: Type.Optional(Nullable(Type.Array(Metadata, { maxItems: 10_000 }))),
  image: Type.Optional(Nullable(DiagramImage)),
  include_in_report: Type.Optional(Type.Boolean()),
  timmy_enabled: Type.Optional(Type.Boolean()),
  color_palette: Type.Optional(Nullable(Type.Array(ColorPaletteEntry, { maxItems: 8 }))),
});
export type DfdDiagramInput = Static<typeof DfdDiagramInput>;

export const DfdDiagram = Type.Object({
  id: Uuid,
  name: Type.String(),
  type: Type.String(),
  description: Type.Optional(Nullable(Type.String())),
  created_at: DateTime,
  modified_at: DateTime,
  // Cells are validated on the way in; on the way out they are passed through as stored.
  cells: Type.Array(Type.Unknown()),
  metadata: Type.Array(Metadata),
  update_vector: Type.Integer({ minimum: 0 }),
  image: DiagramImage,
  include_in_report: Type.Boolean(),
  timmy_enabled: Type.Boolean(),
  color_palette: Type.Array(ColorPaletteEntry),
  auto_generated: Type.Boolean(),
  alias: Type.Integer({ minimum: 1 }),
  version: Type.Integer({ minimum: 1 }),
  deleted_at: Type.Optional(Nullable(DateTime)),
});
export type DfdDiagram = Static<typeof DfdDiagram>;

export const DiagramListItem = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    type: Type.String(),
    description: Type.Optional(Nullable(Type.String())),
    created_at: DateTime,
    modified_at: DateTime,
    image: Type.Optional(Nullable(DiagramImage)),
    include_in_report: Type.Optional(Type.Boolean()),
    timmy_enabled: Type.Optional(Type.Boolean()),
    deleted_at: Type.Optional(Nullable(DateTime)),
    alias: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  closed,
);
export type DiagramListItem = Static<typeof DiagramListItem>;

export const ListDiagramsQuery = Type.Object({ ...Paging, include_deleted: Type.Optional(Type.Boolean()) });
export type ListDiagramsQuery = Static<typeof ListDiagramsQuery>;

export const ListDiagramsResponse = Type.Object({
  diagrams: Type.Array(DiagramListItem),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});
export type ListDiagramsResponse = Static<typeof ListDiagramsResponse>;

export const DiagramParams = Type.Object({ threat_model_id: Uuid, diagram_id: Uuid });

const ModelUuid = Type.String({ maxLength: 36 });
export const MinimalNode = Type.Object(
  {
    id: ModelUuid,
    shape: Type.String(),
    parent: Nullable(ModelUuid),
    children: Type.Array(ModelUuid),
    labels: Type.Array(Type.String()),
    metadata: Type.Record(Type.String(), Type.String()),
    security_boundary: Type.Boolean(),
    data_asset_ids: Type.Array(ModelUuid),
  },
  closed,
);
export const MinimalEdge = Type.Object(
  {
    id: ModelUuid,
    shape: Type.Literal(EDGE_SHAPE),
    source: EdgeTerminal,
    target: EdgeTerminal,
    labels: Type.Array(Type.String()),
    metadata: Type.Record(Type.String(), Type.String()),
    data_asset_ids: Type.Array(ModelUuid),
  },
  closed,
);
export const MinimalDiagramModel = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.String(),
    metadata: Type.Record(Type.String(), Type.String()),
    cells: Type.Array(Type.Union([MinimalNode, MinimalEdge])),
    assets: Type.Array(Type.Record(Type.String(), Type.Unknown())),
  },
  closed,
);
export type MinimalDiagramModel = Static<typeof MinimalDiagramModel>;
