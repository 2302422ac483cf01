// The scaffolding the app's forms share: the busy/error/saved state of an action, the row of
// buttons under a form, a form in a dialog, text inputs checked against the contract's rules, and
// selects of enumerated values.
import { useEffect, useRef, useState, type ComponentProps, type FormEvent, type ReactNode } from 'react';
import { DESCRIPTION_TEXT, DEV_LOGIN_HINT, ISSUE_URI, METADATA_KEY_PATTERN, MULTILINE_TEXT, NO_CONTROL, SAFE_NAME, type TextRule } from '../../contract/limits.ts';
import { ErrorNote, Modal } from './ui.tsx';

// ---- actions --------------------------------------------------------------------------------------

export interface ActionState {
  busy: boolean;
  error: unknown;
  /** True for a moment after a success, for a "Saved" note. */
  saved: boolean;
}

/** How long "Saved" shows after a success. */
const SAVED_NOTE_MS = 2000;

/**
 * Runs an action, reporting its state: busy while it runs, then its error (kept until the next
 * run) or a success. Resolves to whether it succeeded; never rejects.
 */
export async function runAction(action: () => Promise<unknown>, report: (s: Partial<ActionState>) => void): Promise<boolean> {
  report({ busy: true, error: undefined, saved: false });
  try {
    await action();
    report({ busy: false, saved: true });
    return true;
  } catch (err) {
    report({ busy: false, error: err });
    return false;
  }
}

export interface Action<A extends unknown[]> extends ActionState {
  run: (...args: A) => Promise<boolean>;
  clearError: () => void;
}

/** An action with its state, for a form's submit or a dialog's button. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<unknown>): Action<A> {
  const [state, setState] = useState<ActionState>({ busy: false, error: undefined, saved: false });
  useEffect(() => {
    if (!state.saved) return;
    const t = setTimeout(() => setState((s) => ({ ...s, saved: false })), SAVED_NOTE_MS);
    return () => clearTimeout(t);
  }, [state.saved]);
  return {
    ...state,
    run: (...args) => runAction(() => action(...args), (s) => setState((prev) => ({ ...prev, ...s }))),
    clearError: () => setState((s) => ({ ...s, error: undefined })),
  };
}

// ---- forms and their buttons ----------------------------------------------------------------------

/** A form that submits through `onSubmit` instead of navigating. */
export function Form({ onSubmit, children, className }: { onSubmit: () => unknown; children: ReactNode; className?: string }) {
  return (
    <form
      className={className}
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void onSubmit();
      }}
    >
      {children}
    </form>
  );
}

/**
 * The end of a form: the action's error, then the buttons. People who may not change anything see
 * "Close" (when there is somewhere to go back to) and no submit button.
 */
export function FormActions({
  action,
  submit,
  busyLabel = 'Saving…',
  disabled,
  onCancel,
  onSubmit,
  writable = true,
  danger,
  dismissible,
  savedNote,
}: {
  action: ActionState & { clearError: () => void };
  /** The submit button's text. */
  submit: string;
  busyLabel?: string;
  disabled?: boolean;
  onCancel?: () => void;
  /** A click handler instead of submitting the surrounding form (a dialog that holds other forms). */
  onSubmit?: () => void;
  writable?: boolean;
  danger?: boolean;
  /** The error can be dismissed. */
  dismissible?: boolean;
  /** Says "Saved" for a moment after a success (a form that stays open). */
  savedNote?: boolean;
}) {
  const showSubmit = writable;
  return (
    <>
      <ErrorNote error={action.error} onClose={dismissible ? action.clearError : undefined} />
      {(onCancel || showSubmit) && (
        <div className="actions">
          {savedNote && action.saved && <span className="ok">Saved</span>}
          {onCancel && (
            <button type="button" onClick={onCancel}>
              {writable ? 'Cancel' : 'Close'}
            </button>
          )}
          {showSubmit && (
            <button type={onSubmit ? 'button' : 'submit'} className={danger ? 'danger' : 'primary'} disabled={action.busy || disabled} onClick={onSubmit}>
              {action.busy ? busyLabel : submit}
            </button>
          )}
        </div>
      )}
    </>
  );
}

/** A form in a dialog. */
export function ModalForm({ title, onClose, onSubmit, children, wide }: { title: string; onClose: () => void; onSubmit: () => unknown; children: ReactNode; wide?: boolean }) {
  return (
    <Modal title={title} onClose={onClose} wide={wide}>
      <Form onSubmit={onSubmit}>{children}</Form>
    </Modal>
  );
}

// ---- text -----------------------------------------------------------------------------------------

/** What the contract's text patterns allow, in words. */
const PATTERN_HINTS: Record<string, string> = {
  [SAFE_NAME]: 'Without the characters < > " \' &',
  [DESCRIPTION_TEXT]: 'Without the characters < > or control characters',
  [MULTILINE_TEXT]: 'Without control characters other than line breaks and tabs',
  [NO_CONTROL]: 'One line without control characters',
  [ISSUE_URI]: 'A web address (http:// or https://)',
  [METADATA_KEY_PATTERN]: 'Letters, digits and the characters _ . / : - only',
  [DEV_LOGIN_HINT.pattern]: '3 to 20 letters, digits or hyphens',
};
export const patternHint = (rule: TextRule): string | undefined => (rule.pattern === undefined ? undefined : PATTERN_HINTS[rule.pattern]);

/**
 * What is wrong with a value under a text rule of the contract, in words; undefined when nothing
 * is. An empty value is left to `required`. Lengths count characters, as the API does.
 */
export function textProblem(value: string, rule: TextRule | undefined, hint?: string): string | undefined {
  if (!rule || value === '') return undefined;
  const length = [...value].length;
  if (rule.minLength !== undefined && length < rule.minLength) return `At least ${rule.minLength} characters.`;
  if (length > rule.maxLength) return `At most ${rule.maxLength} characters.`;
  if (rule.pattern !== undefined && !new RegExp(rule.pattern, 'u').test(value)) return `${hint ?? patternHint(rule) ?? 'Contains characters that are not allowed here'}.`;
  return undefined;
}

type InputProps = Omit<ComponentProps<'input'>, 'value' | 'onChange' | 'pattern' | 'maxLength' | 'ref'>;

/**
 * A text input (or text area) held to a text rule of the contract: its length is capped, and a
 * value the API would refuse blocks the form's submit, the browser showing what is wrong. (The
 * contract's patterns are JavaScript expressions, which the `pattern` attribute does not take
 * reliably, so they are checked here.) A `hint` describes the allowed text and is the tooltip.
 */
export function TextInput({
  rule,
  hint,
  value,
  onChange,
  multiline,
  rows,
  title,
  ...rest
}: InputProps & { rule?: TextRule; hint?: string; value: string; onChange: (value: string) => void; multiline?: boolean; rows?: number }) {
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const problem = textProblem(value, rule, hint);
  useEffect(() => ref.current?.setCustomValidity(problem ?? ''), [problem]);
  const props = { ...rest, ref, value, maxLength: rule?.maxLength, title: title ?? hint };
  if (multiline) {
    const { type: _type, ...area } = props;
    return <textarea {...(area as ComponentProps<'textarea'>)} rows={rows} onChange={(e) => onChange(e.target.value)} />;
  }
  return <input {...props} onChange={(e) => onChange(e.target.value)} />;
}

// ---- enumerations ---------------------------------------------------------------------------------

/** The stored value as one of the options when it is one whatever its case ("High" is "high"), else as it is. */
export function matchOption(options: readonly string[], value: string | null | undefined): string {
  if (!value) return '';
  return options.find((o) => o.toLowerCase() === value.toLowerCase()) ?? value;
}

/** The options of a select: a current value that is not among them is kept, first, so it is not lost. */
export function enumChoices(options: readonly string[], current: string): readonly string[] {
  return current && !options.includes(current) ? [current, ...options] : options;
}

/** "mitigation_in_progress" as "Mitigation In Progress". */
export const titleCase = (v: string) => v.replace(/_/g, ' ').replace(/(^|\s)(\S)/g, (_m, sp: string, c: string) => sp + c.toUpperCase());
/** "not_started" as "not started". */
export const spaced = (v: string) => v.replace(/_/g, ' ');

/** A select of enumerated values (the contract's), showing each through `label`. */
export function EnumSelect({
  options,
  value,
  onChange,
  label = (v) => v,
  none,
  ...rest
}: Omit<ComponentProps<'select'>, 'value' | 'onChange' | 'children'> & {
  options: readonly string[];
  value: string;
  onChange: (value: string) => void;
  label?: (value: string) => string;
  /** An empty first option with this text. */
  none?: string;
}) {
  return (
    <select {...rest} value={value} onChange={(e) => onChange(e.target.value)}>
      {none !== undefined && <option value="">{none}</option>}
      {enumChoices(options, value).map((o) => (
        <option key={o} value={o}>
          {label(o)}
        </option>
      ))}
    </select>
  );
}

// ---- confirmation ---------------------------------------------------------------------------------

/** Asks before doing something that cannot be undone; closes once it is done. */
export function Confirm({ title, message, action = 'Delete', onConfirm, onClose }: { title: string; message: ReactNode; action?: string; onConfirm: () => Promise<void>; onClose: () => void }) {
  const confirm = useAction(async () => {
    await onConfirm();
    onClose();
  });
  return (
    <Modal title={title} onClose={onClose}>
      <p>{message}</p>
      <FormActions action={confirm} submit={action} busyLabel="Working…" danger onCancel={onClose} onSubmit={() => void confirm.run()} />
    </Modal>
  );
}
