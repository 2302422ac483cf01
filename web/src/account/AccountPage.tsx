// The signed-in person's account (/account): who they are, the identities that sign in to this
// account (list, link another provider, confirm a pending link, unlink), and their client
// credentials for automation (create with the secret shown once, list, delete). Writes that the
// server guards with step-up offer a fresh sign-in when it asks for one.
import { useEffect, useRef, useState } from 'react';
import { CLIENT_CREDENTIAL_TEXT } from '../../../contract/limits.ts';
import { clientCredentials, identities, type ClientCredentialInfo, type ClientCredentialResponse, type LinkedIdentity } from '../api/account.ts';
import { beginLink, signInOptions, type SignInOption } from '../api/session.ts';
import { clearFlash, peekFlash } from '../flash.ts';
import { Confirm, FormActions, ModalForm, TextInput, useAction } from '../forms.tsx';
import { useMe } from '../me.ts';
import { navigate, useLocation } from '../router.tsx';
import { formatDate, Modal, Spinner, useLoad } from '../ui.tsx';
import { ProviderIcon } from './ProviderIcon.tsx';
import { StepUpOrError } from './StepUp.tsx';

/** This page's URL without one query parameter (after it was acted on). */
function without(key: string): string {
  const u = new URL(location.href);
  u.searchParams.delete(key);
  return u.pathname + u.search + u.hash;
}

export default function AccountPage() {
  const me = useMe();
  const { search } = useLocation();
  const params = new URLSearchParams(search);
  const [flash] = useState(peekFlash);
  useEffect(() => clearFlash(), []);
  const options = useLoad(signInOptions, []);
  const steppedUp = params.get('stepped_up') === '1';

  // Land on the section a menu entry names.
  useEffect(() => {
    if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
  }, []);

  return (
    <div className="account">
      <h1>Your account</h1>
      {flash && (
        <div className="error" role="alert">
          {flash}
        </div>
      )}
      {steppedUp && (
        <p className="notice" role="status">
          You signed in again. You can now retry what you were doing.{' '}
          <button className="link" onClick={() => navigate(without('stepped_up'), true)}>
            Dismiss
          </button>
        </p>
      )}
      <section className="details">
        <p>
          <strong>{me.display_name}</strong> <span className="muted">{me.email}</span>
        </p>
        <p className="muted small">
          Signs in with <strong>{providerName(options.data, me.provider)}</strong> {me.is_admin && <span className="badge">Administrator</span>}{' '}
          {me.is_security_reviewer && <span className="badge">Security reviewer</span>}
        </p>
      </section>
      <IdentitiesSection options={options.data ?? []} linkPending={params.get('link_pending')} />
      <ClientCredentialsSection />
    </div>
  );
}

const providerName = (options: SignInOption[] | undefined, id: string) => options?.find((o) => o.id === id)?.name ?? id;
const providerIcon = (options: SignInOption[], id: string) => options.find((o) => o.id === id)?.icon ?? '';

// ---- identities -------------------------------------------------------------------------------

function IdentitiesSection({ options, linkPending }: { options: SignInOption[]; linkPending: string | null }) {
  const me = useMe();
  const list = useLoad(identities.list, []);
  const [unlinking, setUnlinking] = useState<LinkedIdentity>();
  const [error, setError] = useState<unknown>();
  const [starting, setStarting] = useState<string>();
  // The development provider vouches for nobody, so it cannot be linked.
  const linkable = options.filter((o) => o.kind !== 'dev');

  const link = async (idp: string) => {
    setStarting(idp);
    setError(undefined);
    try {
      await beginLink(idp, '/account#identities');
    } catch (err) {
      setError(err);
      setStarting(undefined);
    }
  };

  return (
    <section id="identities">
      <header>
        <h2>Sign-in identities</h2>
      </header>
      <p className="muted small">Each identity below signs in to this same account. Linking another one needs your confirmation; an identity that already has a TMI account of its own cannot be linked.</p>
      {linkPending && <PendingLink token={linkPending} options={options} onDone={list.reload} />}
      {list.loading && !list.data && <Spinner />}
      <StepUpOrError error={list.error} />
      {list.data && (
        <table className="grid" aria-label="Sign-in identities">
          <thead>
            <tr>
              <th>Provider</th>
              <th>Identity</th>
              <th>Linked</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            <tr>
              <td>
                <span className="row">
                  <ProviderIcon icon={providerIcon(options, list.data.primary.provider)} name={providerName(options, list.data.primary.provider)} />
                  {providerName(options, list.data.primary.provider)}
                </span>
              </td>
              <td>
                {list.data.primary.name ?? me.display_name} <span className="muted">{list.data.primary.email}</span>
              </td>
              <td colSpan={2} className="muted">
                Primary identity of the account
              </td>
              <td className="muted small" title="The identity the account was created with cannot be removed: the account would have no way left to sign in.">
                Cannot be removed
              </td>
            </tr>
            {list.data.linked.map((l) => (
              <tr key={l.id}>
                <td>
                  <span className="row">
                    <ProviderIcon icon={providerIcon(options, l.provider)} name={providerName(options, l.provider)} />
                    {providerName(options, l.provider)}
                  </span>
                </td>
                <td>
                  {l.name ?? ''} <span className="muted">{l.email ?? l.provider_user_id}</span>
                </td>
                <td>{formatDate(l.linked_at)}</td>
                <td>{l.last_used_at ? formatDate(l.last_used_at) : <span className="muted">never</span>}</td>
                <td className="row-actions">
                  <button className="link danger" onClick={() => setUnlinking(l)}>
                    Unlink
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <StepUpOrError error={error} onClose={() => setError(undefined)} />
      {linkable.length > 0 ? (
        <div className="link-options">
          <span className="label">Link another identity:</span>
          {linkable.map((o) => (
            <button key={`${o.kind}:${o.id}`} disabled={starting !== undefined} onClick={() => void link(o.id)}>
              <ProviderIcon icon={o.icon} name={o.name} /> {starting === o.id ? 'Redirecting…' : o.name}
            </button>
          ))}
        </div>
      ) : (
        <p className="muted small">No provider on this server can be linked (the development sign-in cannot).</p>
      )}
      {unlinking && (
        <Confirm
          title="Unlink identity"
          action="Unlink"
          message={`${providerName(options, unlinking.provider)} (${unlinking.email ?? unlinking.provider_user_id}) will no longer sign in to this account.`}
          onClose={() => setUnlinking(undefined)}
          onConfirm={async () => {
            try {
              await identities.unlink(unlinking.id);
            } catch (err) {
              // A step-up answer is shown on the page, where its button can act.
              setError(err);
              return;
            }
            list.reload();
          }}
        />
      )}
    </section>
  );
}

/** A link the provider vouched for, waiting for this person's confirmation. */
function PendingLink({ token, options, onDone }: { token: string; options: SignInOption[]; onDone: () => void }) {
  const pending = useLoad((signal) => identities.pending(token, signal), [token]);
  const confirm = useAction(async () => {
    await identities.confirm(token);
    onDone();
    navigate(without('link_pending'), true);
  });
  const cancel = () => navigate(without('link_pending'), true);
  if (pending.loading && !pending.data) return <Spinner label="Loading the identity to link…" />;
  if (pending.error)
    return (
      <div className="card" role="alert">
        <StepUpOrError error={pending.error} />
        <button onClick={cancel}>Close</button>
      </div>
    );
  const p = pending.data!.pending;
  return (
    <div className="card" data-testid="pending-link">
      <h3>Link this identity?</h3>
      <p>
        <ProviderIcon icon={providerIcon(options, p.provider)} name={providerName(options, p.provider)} /> <strong>{providerName(options, p.provider)}</strong>: {p.name ?? ''}{' '}
        <span className="muted">{p.email ?? p.provider_user_id}</span>
      </p>
      <p>
        It will sign in to your account <strong>{pending.data!.account.email}</strong>. Link it only if it is yours.
      </p>
      <StepUpOrError error={confirm.error} onClose={confirm.clearError} />
      <div className="actions">
        <button onClick={cancel}>Cancel</button>
        <button className="primary" disabled={confirm.busy} onClick={() => void confirm.run()}>
          {confirm.busy ? 'Linking…' : 'Link identity'}
        </button>
      </div>
    </div>
  );
}

// ---- client credentials -----------------------------------------------------------------------

function ClientCredentialsSection() {
  const me = useMe();
  const allowed = me.is_admin || me.is_security_reviewer;
  const list = useLoad((signal) => (allowed ? clientCredentials.list(signal) : Promise.resolve(undefined)), [allowed]);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ClientCredentialResponse>();
  const [deleting, setDeleting] = useState<ClientCredentialInfo>();

  return (
    <section id="client-credentials">
      <header>
        <h2>Client credentials</h2>
        {allowed && (
          <button className="primary" onClick={() => setCreating(true)}>
            New client credential
          </button>
        )}
      </header>
      <p className="muted small">
        A client credential lets a script or a pipeline call the API as you (grant_type=client_credentials at /oauth2/token), without a browser. It never gets
        administrator rights, and deleting it stops it at once.
      </p>
      {!allowed && <p className="empty">Client credentials are for administrators and security reviewers.</p>}
      {allowed && list.loading && !list.data && <Spinner />}
      <StepUpOrError error={list.error} />
      {list.data && list.data.credentials.length === 0 && <p className="empty">You have no client credentials.</p>}
      {list.data && list.data.credentials.length > 0 && (
        <table className="grid" aria-label="Client credentials">
          <thead>
            <tr>
              <th>Name</th>
              <th>Client id</th>
              <th>Created</th>
              <th>Last used</th>
              <th>Expires</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.credentials.map((c) => (
              <tr key={c.id}>
                <td>
                  {c.name}
                  {c.description && <div className="muted small">{c.description}</div>}
                </td>
                <td>
                  <code>{c.client_id}</code>
                </td>
                <td>{formatDate(c.created_at)}</td>
                <td>{c.last_used_at ? formatDate(c.last_used_at) : <span className="muted">never</span>}</td>
                <td>{c.expires_at ? <span className={new Date(c.expires_at) < new Date() ? 'sev sev-high' : ''}>{formatDate(c.expires_at)}</span> : <span className="muted">never</span>}</td>
                <td className="row-actions">
                  <button className="link danger" onClick={() => setDeleting(c)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creating && (
        <CreateCredential
          onClose={() => setCreating(false)}
          onCreated={(c) => {
            setCreating(false);
            setCreated(c);
            list.reload();
          }}
        />
      )}
      {created && <SecretOnce credential={created} onClose={() => setCreated(undefined)} />}
      {deleting && (
        <Confirm
          title="Delete client credential"
          message={`"${deleting.name}" (${deleting.client_id}) stops working at once, and tokens it obtained are revoked.`}
          onClose={() => setDeleting(undefined)}
          onConfirm={async () => {
            await clientCredentials.remove(deleting.id);
            list.reload();
          }}
        />
      )}
    </section>
  );
}

function CreateCredential({ onClose, onCreated }: { onClose: () => void; onCreated: (c: ClientCredentialResponse) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [expires, setExpires] = useState('');
  const save = useAction(async () => {
    const expiresAt = expires ? new Date(expires) : undefined;
    if (expiresAt && !(expiresAt.getTime() > Date.now())) throw new Error('The expiry must be in the future.');
    onCreated(
      await clientCredentials.create({
        name: name.trim(),
        ...(description.trim() ? { description: description.trim() } : {}),
        ...(expiresAt ? { expires_at: expiresAt.toISOString() } : {}),
      }),
    );
  });
  return (
    <ModalForm title="New client credential" onClose={onClose} onSubmit={() => save.run()}>
      <label>
        Name
        <TextInput name="name" value={name} onChange={setName} rule={CLIENT_CREDENTIAL_TEXT.name} required placeholder="CI pipeline" />
      </label>
      <label>
        Description
        <TextInput name="description" value={description} onChange={setDescription} rule={CLIENT_CREDENTIAL_TEXT.description} multiline rows={2} />
      </label>
      <label>
        Expires (optional)
        <input type="datetime-local" name="expires_at" value={expires} onChange={(e) => setExpires(e.target.value)} />
      </label>
      <FormActions action={save} submit="Create" busyLabel="Creating…" onCancel={onClose} />
    </ModalForm>
  );
}

/** The new credential's secret, shown this once: the server keeps only a hash of it. */
function SecretOnce({ credential, onClose }: { credential: ClientCredentialResponse; onClose: () => void }) {
  return (
    <Modal title="Save the client secret now" onClose={onClose} wide>
      <p className="notice">
        This is the only time the secret is shown. Copy it into your secret store now; TMI keeps only a hash of it and cannot show it again. If it is lost, delete this
        credential and create another.
      </p>
      <CopyField label="Client id" value={credential.client_id} name="client_id" />
      <CopyField label="Client secret" value={credential.client_secret} name="client_secret" />
      {credential.expires_at && <p className="muted small">Expires {formatDate(credential.expires_at)}.</p>}
      <div className="actions">
        <button className="primary" onClick={onClose}>
          I have saved it
        </button>
      </div>
    </Modal>
  );
}

function CopyField({ label, value, name }: { label: string; value: string; name: string }) {
  const ref = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'no'>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      // No clipboard access (an insecure origin, or refused): select it for a manual copy.
      ref.current?.select();
      setCopied(document.execCommand?.('copy') ? 'yes' : 'no');
    }
  };
  return (
    <label>
      {label}
      <span className="secret">
        <input ref={ref} name={name} value={value} readOnly onFocus={(e) => e.target.select()} spellCheck={false} />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        {copied === 'yes' && <span className="ok">Copied</span>}
        {copied === 'no' && <span className="muted small">Selected: press Ctrl+C</span>}
      </span>
    </label>
  );
}
