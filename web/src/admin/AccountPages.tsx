// The person's own account: preferences (theme, stored server-side through /me/preferences), the
// TMI groups they belong to, and deleting their account with the consequences spelled out first.
import { useState } from 'react';
import { account, applyTheme, PREFERENCES_CLIENT, type Challenge, type Theme } from '../api/admin.ts';
import { useAction } from '../forms.tsx';
import { ErrorNote, Spinner, useLoad } from '../ui.tsx';
import { PlanView } from './AdminPage.tsx';

export function PreferencesPage() {
  const prefs = useLoad((signal) => account.preferences(signal), []);
  // The choice shows at once (a controlled radio would otherwise snap back until the save
  // answers), and goes back to the stored one if the save fails.
  const [chosen, setChosen] = useState<Theme | undefined>();
  const current = chosen ?? (prefs.data?.[PREFERENCES_CLIENT]?.theme as Theme | undefined) ?? 'auto';
  const save = useAction(async (theme: Theme) => {
    const all = { ...(prefs.data ?? {}), [PREFERENCES_CLIENT]: { ...(prefs.data?.[PREFERENCES_CLIENT] ?? {}), theme } };
    try {
      prefs.setData(await account.savePreferences(all));
    } finally {
      setChosen(undefined);
    }
    applyTheme(theme);
  });
  if (!prefs.data) return prefs.error ? <ErrorNote error={prefs.error} /> : <Spinner />;
  return (
    <section data-testid="preferences">
      <h1>Preferences</h1>
      <fieldset>
        <div className="label">Theme</div>
        {(['light', 'dark', 'auto'] as const).map((t) => (
          <label key={t} className="inline">
            <input type="radio" name="theme" value={t} checked={current === t} onChange={() => {
                setChosen(t);
                void save.run(t);
              }} disabled={save.busy} />
            {t === 'auto' ? 'Follow the system' : t === 'light' ? 'Light' : 'Dark'}
          </label>
        ))}
      </fieldset>
      {save.saved && <p className="ok">Saved</p>}
      <ErrorNote error={save.error} />
    </section>
  );
}

export function MyGroupsPage() {
  const groups = useLoad((signal) => account.groups(signal), []);
  if (!groups.data) return groups.error ? <ErrorNote error={groups.error} /> : <Spinner />;
  return (
    <section data-testid="my-groups">
      <h1>My groups</h1>
      {groups.data.groups.length === 0 ? (
        <p className="empty">You belong to no TMI group.</p>
      ) : (
        <ul>
          {groups.data.groups.map((g) => (
            <li key={g.internal_uuid}>
              {g.name ?? g.group_name} <small className="muted">tmi:{g.group_name}</small>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function DeleteAccountPage({ onDeleted }: { onDeleted: () => void }) {
  const [challenge, setChallenge] = useState<Challenge | null>(null);
  const ask = useAction(async () => setChallenge(await account.askDeletion()));
  const confirm = useAction(async () => {
    await account.confirmDeletion(challenge!.challenge_text);
    onDeleted();
  });
  return (
    <section data-testid="delete-account">
      <h1>Delete my account</h1>
      <p>
        Deleting your account is permanent. Each threat model you own goes to another person who owns it with you; a model nobody else owns is deleted with
        everything in it. Your access to models shared with you, your group memberships, linked identities, client credentials and preferences are removed.
      </p>
      {!challenge && (
        <button onClick={() => void ask.run()} disabled={ask.busy}>
          Show what will happen
        </button>
      )}
      {challenge && (
        <>
          {challenge.plan && <PlanView plan={challenge.plan} />}
          <p className="notice">
            Confirm before {new Date(challenge.expires_at).toLocaleTimeString()}: <q>{challenge.challenge_text}</q>
          </p>
          <div className="actions">
            <button onClick={() => setChallenge(null)}>Cancel</button>
            <button className="danger" onClick={() => void confirm.run()} disabled={confirm.busy}>
              Delete my account permanently
            </button>
          </div>
        </>
      )}
      <ErrorNote error={ask.error ?? confirm.error} />
    </section>
  );
}
