// The DFD shapes registered with X6 under the API's shape names, so a cell's JSON is the same on
// the canvas and on the wire: actor, process, store, security-boundary, text-box, and the flow edge.
import { Graph } from '@antv/x6';
import { EDGE_SHAPE, PORT_SIDES, type NodeShape } from '../../../contract/limits.ts';

const port = (side: string) => ({
  position: side,
  attrs: { circle: { r: 5, magnet: true, stroke: '#5b6b85', strokeWidth: 1.5, fill: '#ffffff', style: { visibility: 'hidden' } } },
});
const portGroups = Object.fromEntries(PORT_SIDES.map((s) => [s, port(s)]));

const label = { fontSize: 13, fill: '#1d2433', refX: 0.5, refY: 0.5, textAnchor: 'middle', textVerticalAnchor: 'middle', fontFamily: 'system-ui, sans-serif', textWrap: { width: -12, height: -8, ellipsis: true } };

let registered = false;

const registerNode = (shape: NodeShape, config: Parameters<typeof Graph.registerNode>[1]) => Graph.registerNode(shape, config, true);

export function registerShapes(): void {
  if (registered) return;
  registered = true;
  registerNode('actor', {
    inherit: 'rect',
    attrs: { body: { fill: '#eef3fb', stroke: '#2d4e8a', strokeWidth: 2, rx: 2, ry: 2 }, text: label },
    ports: { groups: portGroups },
  });
  registerNode('process', {
    inherit: 'rect',
    attrs: { body: { fill: '#eefaf1', stroke: '#23733b', strokeWidth: 2, rx: 30, ry: 30 }, text: label },
    ports: { groups: portGroups },
  });
  registerNode('store', {
    inherit: 'rect',
    markup: [
      { tagName: 'rect', selector: 'body' },
      { tagName: 'path', selector: 'lines' },
      { tagName: 'text', selector: 'text' },
    ],
    attrs: {
      body: { refWidth: '100%', refHeight: '100%', fill: '#fff8e8', stroke: 'none', strokeWidth: 0 },
      // A data store is drawn as two parallel lines (open at the sides), as DFDs do.
      lines: { refD: 'M 0 0 L 100 0 M 0 100 L 100 100', stroke: '#8a5a00', strokeWidth: 2, fill: 'none' },
      text: label,
    },
    ports: { groups: portGroups },
  });
  registerNode('security-boundary', {
    inherit: 'rect',
    attrs: {
      body: { fill: '#fafafa', fillOpacity: 0.4, stroke: '#b3261e', strokeWidth: 2, strokeDasharray: '8,4', rx: 6, ry: 6 },
      text: { ...label, refX: 8, refY: 8, textAnchor: 'start', textVerticalAnchor: 'top', fill: '#b3261e', fontWeight: 600, textWrap: undefined },
    },
  });
  registerNode('text-box', {
    inherit: 'rect',
    attrs: { body: { fill: 'transparent', stroke: 'transparent', strokeWidth: 0 }, text: { ...label, fill: '#333333' } },
  });
  Graph.registerEdge(
    EDGE_SHAPE,
    {
      inherit: 'edge',
      attrs: { line: { stroke: '#3a4457', strokeWidth: 1.6, targetMarker: { name: 'classic', size: 8 } } },
      defaultLabel: {
        markup: [
          { tagName: 'rect', selector: 'body' },
          { tagName: 'text', selector: 'text' },
        ],
        attrs: {
          text: { fill: '#1d2433', fontSize: 12, textAnchor: 'middle', textVerticalAnchor: 'middle', pointerEvents: 'none' },
          body: { ref: 'text', fill: '#ffffff', stroke: '#ffffff', strokeWidth: 3, refWidth: '100%', refHeight: '100%', refX: 0, refY: 0 },
        },
        position: { distance: 0.5 },
      },
      connector: { name: 'rounded' },
    },
    true,
  );
}
