// A SurveyJS definition rendered with the MIT-licensed survey-core and survey-react-ui. Loaded on
// demand (its own chunk): only the intake form, the triage view and the template preview use it.
import { useEffect, useMemo } from 'react';
import { Model } from 'survey-core';
import { Survey } from 'survey-react-ui';
import 'survey-core/survey-core.min.css';

export interface SurveyViewProps {
  json: Record<string, unknown>;
  data?: Record<string, unknown>;
  readOnly?: boolean;
  /** Called with the answers when the user presses the form's own Complete button. */
  onComplete?: (answers: Record<string, unknown>) => void;
  /** Called with the answers after each change (draft saving). */
  onChange?: (answers: Record<string, unknown>) => void;
}

export default function SurveyView({ json, data, readOnly, onComplete, onChange }: SurveyViewProps) {
  const model = useMemo(() => {
    const m = new Model(json);
    if (data) m.data = data;
    if (readOnly) m.mode = 'display';
    m.completeText = 'Submit for review';
    return m;
    // A new definition or a new response makes a new model; answers typed since stay in the model.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [JSON.stringify(json), readOnly]);
  useEffect(() => {
    const complete = (sender: Model) => onComplete?.(sender.data as Record<string, unknown>);
    const change = (sender: Model) => onChange?.(sender.data as Record<string, unknown>);
    model.onComplete.add(complete);
    model.onValueChanged.add(change);
    return () => {
      model.onComplete.remove(complete);
      model.onValueChanged.remove(change);
    };
  }, [model, onComplete, onChange]);
  return (
    <div data-testid="survey-form">
      <Survey model={model} />
    </div>
  );
}
