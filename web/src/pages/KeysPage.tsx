// Keys: the ssh public keys given to the root user of new VMs (checked as they are pasted), and the
// API tokens of scripts (each shown once, with a copy button).

import { useId, useState } from "react";
import type { CreatedToken } from "../../../src/core/api.ts";
import { TOKEN_LIFETIMES, describeKey } from "../../../src/portal/rules.ts";
import { KeyField, keyCheck } from "../components/KeyField.tsx";
import type { MeWithLimits } from "../api/me.ts";
import { ConfirmDialog } from "../components/ConfirmDialog.tsx";
import { CopyButton, Empty, ErrorNote, Loading, PageTitle, Table, When } from "../components/ui.tsx";
import { useCreateToken, useRevokeToken, useSaveSshKeys, useTokens } from "../queries/me.ts";

function SshKeys({ me }: { me: MeWithLimits }) {
  const save = useSaveSshKeys();
  const [text, setText] = useState("");
  const [name, setName] = useState("");
  const nameId = useId();
  const { key } = keyCheck(text, name);
  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">SSH keys</h2>
      <p className="muted">New VMs let these keys in as root. Changing them here does not change VMs already running.</p>
      {me.sshKeys.length === 0 ? (
        <Empty title="You have no ssh key yet.">
          <p>
            Paste your public key below: on your computer it is in <code>~/.ssh/id_ed25519.pub</code> (make one with <code>ssh-keygen -t ed25519</code>).
          </p>
        </Empty>
      ) : (
        <ul className="key-list">
          {me.sshKeys.map((key, i) => {
            const k = describeKey(key);
            return (
              <li key={`${i}-${key}`}>
                <span>
                  <strong>{k.name}</strong> <span className="muted">
                    {k.type} {k.tail}
                  </span>
                </span>
                <button
                  type="button"
                  className="small"
                  aria-label={`Remove key ${k.name}`}
                  disabled={save.isPending}
                  onClick={() => save.mutate(me.sshKeys.filter((_, j) => j !== i))}
                >
                  Remove
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <form
        className="key-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (key === null) return;
          save.mutate([...me.sshKeys, key], {
            onSuccess: () => {
              setText("");
              setName("");
            },
          });
        }}
      >
        <KeyField label="Public key" value={text} onChange={setText} valid="A valid key." empty="" />
        <div className="field">
          <label htmlFor={nameId}>Name</label>
          <input id={nameId} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} placeholder="the key's own comment when empty" />
        </div>
        <ErrorNote error={save.error} what="Not saved" />
        <button type="submit" className="primary" disabled={key === null || save.isPending}>
          Add key
        </button>
      </form>
    </section>
  );
}

function Tokens() {
  const tokens = useTokens();
  const create = useCreateToken();
  const revoke = useRevokeToken();
  const [name, setName] = useState("");
  const [hours, setHours] = useState(2160);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  const nameId = useId();
  const lifeId = useId();
  return (
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      <p className="muted">
        For scripts and the <code>vgrid</code> command line: <code>VGRID_TOKEN=… vgrid ls</code>. A token acts as you.
      </p>
      {created && (
        <div className="created-token" role="status">
          <p>
            <strong>Your new token {created.name}</strong>: copy it now, it is shown only this once.
          </p>
          <p className="connect-line">
            <code>{created.token}</code>
            <CopyButton text={created.token} label="Copy the new token" />
          </p>
          <button type="button" className="small done" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      {tokens.isPending && <Loading what="your tokens" />}
      <ErrorNote error={tokens.error} what="Your tokens could not be read" />
      {tokens.data && tokens.data.items.length === 0 && <p className="muted">You have no API tokens.</p>}
      {tokens.data && tokens.data.items.length > 0 && (
        <Table caption="API tokens" columns={["Name", "Created", "Expires", ""]}>
              {tokens.data.items.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>
                    <When at={t.createdAt} />
                  </td>
                  <td>{t.expiresAt === null ? "never" : <When at={t.expiresAt} />}</td>
                  <td>
                    <button type="button" className="small danger" aria-label={`Revoke token ${t.name}`} onClick={() => setRevoking({ id: t.id, name: t.name })}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </Table>
      )}
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke the token ${revoking?.name ?? ""}?`}
        confirm="Revoke"
        busy={revoke.isPending}
        onCancel={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking.id, { onSuccess: () => setRevoking(null) })}
      >
        <p>Scripts that use it stop working at once.</p>
        <ErrorNote error={revoke.error} what="Not revoked" />
      </ConfirmDialog>
      <form
        className="token-form"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate(
            { name: name.trim(), hours },
            {
              onSuccess: (t) => {
                setCreated(t);
                setName("");
              },
            },
          );
        }}
      >
        <div className="field">
          <label htmlFor={nameId}>Token name</label>
          <input id={nameId} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required placeholder="laptop, CI…" />
        </div>
        <div className="field">
          <label htmlFor={lifeId}>Expires after</label>
          <select id={lifeId} value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            {TOKEN_LIFETIMES.map((l) => (
              <option key={l.hours} value={l.hours}>
                {l.label}
              </option>
            ))}
          </select>
        </div>
        <ErrorNote error={create.error} what="Not created" />
        <button type="submit" disabled={name.trim() === "" || create.isPending}>
          Create token
        </button>
      </form>
    </section>
  );
}

export function KeysPage({ me }: { me: MeWithLimits }) {
  return (
    <>
      <PageTitle title="Keys">Keys</PageTitle>
      <SshKeys me={me} />
      <Tokens />
    </>
  );
}
