// The diagram page (its own chunk with X6): loads the threat model (framework), what the user may
// do with it, and the diagram, then hands them to the editor.
import { diagrams } from '../api/diagrams.ts';
import { threatModels } from '../api/threat-models.ts';
import { may, useMe } from '../me.ts';
import { Link } from '../router.tsx';
import { ErrorNote, Spinner, useLoad } from '../ui.tsx';
import { Editor } from './Editor.tsx';

export default function DiagramPage({ tmId, diagramId }: { tmId: string; diagramId: string }) {
  const me = useMe();
  const { data, error, loading } = useLoad(
    async (signal) => {
      const [tm, permissions, diagram] = await Promise.all([threatModels.get(tmId, signal), threatModels.permissions(tmId, signal), diagrams.get(tmId, diagramId, signal)]);
      return { tm, permissions, diagram };
    },
    [tmId, diagramId],
  );
  if (loading && !data) return <Spinner label="Loading the diagram…" />;
  if (!data) return <ErrorNote error={error} />;
  return (
    <section className="dfd-page">
      <p className="crumbs">
        <Link to="/">Threat models</Link> / <Link to={`/tm/${tmId}`}>{data.tm.name}</Link> / {data.diagram.name}
      </p>
      <Editor key={diagramId} tm={data.tm} diagram={data.diagram} writable={may(data.permissions, 'write')} me={me} />
    </section>
  );
}
