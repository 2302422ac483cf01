// Small diagrams for rule tests: actors, processes, stores and flows with vocabulary properties
// (written as cell `_metadata`, as importers and the editor do), nested in trust boundaries.
import { toMetadata } from '../../rules/index.ts';

type Props = Record<string, string | boolean | string[]>;
type Cell = Record<string, unknown> & { id: string; shape: string };

export class Kit {
  readonly cells: Cell[] = [];
  readonly assets: Record<string, unknown>[] = [];
  private n = 0;
  /** Where the next node goes, per boundary ('' = outside every boundary). */
  private slots = new Map<string, { x: number; y: number }>();

  private id(): string {
    this.n += 1;
    return `00000000-0000-4000-8000-${this.n.toString(16).padStart(12, '0')}`;
  }

  /** A boundary in its own region of the canvas; nodes placed `inside` it are embedded and drawn within. */
  boundary(name: string): string {
    const id = this.id();
    const x = 1000 * (this.cells.filter((c) => c.shape === 'security-boundary').length + 1);
    this.slots.set(id, { x: x + 20, y: 40 });
    this.cells.push({ id, shape: 'security-boundary', x, y: 0, width: 900, height: 900, parent: null, attrs: { text: { text: name } } });
    return id;
  }

  private node(shape: string, name: string, props: Props, inside?: string, assets?: string[]): string {
    const id = this.id();
    const slot = this.slots.get(inside ?? '') ?? { x: 20, y: 40 };
    this.slots.set(inside ?? '', { x: slot.x, y: slot.y + 80 });
    const data: Record<string, unknown> = { _metadata: toMetadata(props) };
    if (assets) data.data_assets = assets;
    this.cells.push({ id, shape, x: slot.x, y: slot.y, width: 120, height: 60, parent: inside ?? null, attrs: { text: { text: name } }, data });
    return id;
  }

  actor(name: string, props: Props = {}, inside?: string) {
    return this.node('actor', name, props, inside);
  }
  process(name: string, props: Props = {}, inside?: string) {
    return this.node('process', name, props, inside);
  }
  store(name: string, props: Props = {}, inside?: string, assets?: string[]) {
    return this.node('store', name, props, inside, assets);
  }

  flow(source: string, target: string, props: Props = {}, assets?: string[]): string {
    const id = this.id();
    const data: Record<string, unknown> = { _metadata: toMetadata(props) };
    if (assets) data.data_assets = assets;
    this.cells.push({ id, shape: 'flow', source: { cell: source }, target: { cell: target }, labels: [{ attrs: { text: { text: 'data' } } }], data });
    return id;
  }

  asset(name: string, classification: string[]): string {
    const id = this.id();
    this.assets.push({ id, name, type: 'data', classification });
    return id;
  }

  model(extra: Record<string, unknown> = {}) {
    return { threat_model_framework: 'STRIDE', diagrams: [{ id: '10000000-0000-4000-8000-000000000001', name: 'Main', type: 'DFD-1.0.0', cells: this.cells }], assets: this.assets, threats: [], ...extra };
  }
}

/** A kit with an external actor outside and a "DMZ" boundary; `build` adds the rest. */
export function scene(build: (k: Kit, dmz: string) => void) {
  const k = new Kit();
  const dmz = k.boundary('DMZ');
  build(k, dmz);
  return k.model();
}
