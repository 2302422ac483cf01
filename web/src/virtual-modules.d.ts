// Modules the build makes (vite.config.ts plugins); not files in the repository.

declare module 'virtual:cwe-catalogue' {
  /** `[id, name, kind, deprecated?]`; kind is the abstraction (Pillar, Class, Base, Variant, Compound), Category or View. */
  type Entry = [number, string, string, 1?];
  const catalogue: { name: string; version: string; date: string; entries: Entry[] };
  export default catalogue;
}
