/**
 * The Claw console: a tenant admin's view of the admin API. Preact for the pages, Pico CSS
 * for accessible defaults on plain HTML (labels, focus rings, contrast, dark mode), hash
 * routes, no state beyond the sign-in. Everything a page may do is decided by the API
 * (Cedar); the page only disables what the API says the caller may not do.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import '@picocss/pico/css/pico.min.css';
import './style.css';
import { apiClient, must, type Api } from './api';
import { completeSignIn, currentSession, signIn, signOut, type ConsoleConfig, type Session } from './auth';

type Me = { kind: string; id: string; tenants: { tenant: string; roles: string[] }[] };

// ------------------------------------------------------------------ small pieces

function useRoute(): string[] {
  const parse = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Load on mount and when `deps` change; `reload` runs it again. */
function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: Error & { code?: string; hint?: string }; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: Error }>({});
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setState({ data }),
      (error: Error) => live && setState({ error }),
    );
    return () => void (live = false);
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

function Problem({ error }: { error?: Error & { code?: string; hint?: string } }) {
  if (!error) return null;
  return (
    <p role="alert" class="problem">
      <strong>{error.code ?? 'ERROR'}</strong>: {error.message}
      {error.hint ? <small> — {error.hint}</small> : null}
    </p>
  );
}

const Loading = () => <p aria-busy="true">Loading…</p>;
const when = (iso?: string) => (iso ? new Date(iso).toLocaleString() : '');

// ------------------------------------------------------------------ pages

function Tenants({ me }: { me: Me }) {
  return (
    <section>
      <h1>Your tenants</h1>
      {me.tenants.length === 0 ? (
        <p>You hold no role in any tenant. Ask an admin to add your group to a role in claw.yaml.</p>
      ) : (
        <ul>
          {me.tenants.map((t) => (
            <li key={t.tenant}>
              <a href={`#/t/${t.tenant}/approvals`}>{t.tenant}</a> <small>({t.roles.join(', ')})</small>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Agents({ api, tenant }: { api: Api; tenant: string }) {
  const list = useLoad(() => must(api.GET('/api/v1/tenants/{tenant}/agents', { params: { path: { tenant } } })), [tenant]);
  return (
    <section>
      <h1>Agents</h1>
      <Problem error={list.error} />
      {!list.data && !list.error ? <Loading /> : null}
      {list.data?.agents.map((a) => (
        <article key={a.id} aria-label={`agent ${a.id}`}>
          <header>
            <strong>{a.id}</strong> · revision {a.revision} · applied {when(a.appliedAt)} · model {a.model.provider}
            {a.model.model ? `/${a.model.model}` : ''}
          </header>
          <dl>
            <dt>Tools</dt>
            <dd>{a.tools.map((t) => `${t.name}${t.approval === 'required' ? ' (needs a human)' : ''}`).join(', ') || 'none'}</dd>
            <dt>Channels</dt>
            <dd>{a.channels.join(', ') || 'none'}</dd>
            <dt>Schedules</dt>
            <dd>{a.schedules.map((sc) => `${sc.id}: ${sc.cron} ${sc.timezone}`).join('; ') || 'none'}</dd>
          </dl>
          <AgentRevisions api={api} tenant={tenant} agent={a.id} />
          <a href={`#/t/${tenant}/runs`}>Runs</a>
        </article>
      ))}
    </section>
  );
}

/** An agent's revisions, loaded when opened: who applied each, when, and its tools. */
function AgentRevisions({ api, tenant, agent }: { api: Api; tenant: string; agent: string }) {
  const [open, setOpen] = useState(false);
  const list = useLoad(
    () => (open ? must(api.GET('/api/v1/tenants/{tenant}/agents/{agent}/revisions', { params: { path: { tenant, agent } } })) : Promise.resolve(undefined)),
    [tenant, agent, open],
  );
  return (
    <details onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
      <summary>Revisions</summary>
      <Problem error={list.error} />
      {open && !list.data && !list.error ? <Loading /> : null}
      {list.data ? (
        <table aria-label={`revisions of ${agent}`}>
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Applied</th>
              <th scope="col">By</th>
              <th scope="col">Tools</th>
            </tr>
          </thead>
          <tbody>
            {list.data.revisions.map((r) => (
              <tr key={r.revision}>
                <td>{r.revision}</td>
                <td>{when(r.appliedAt)}</td>
                <td>{r.appliedBy ?? (r.source ? `file ${r.source}` : '')}</td>
                <td>{r.tools.map((t) => t.name).join(', ') || 'none'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </details>
  );
}

function Approvals({ api, tenant }: { api: Api; tenant: string }) {
  const list = useLoad(() => must(api.GET('/api/v1/tenants/{tenant}/approvals', { params: { path: { tenant } } })), [tenant]);
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const [status, setStatus] = useState('');
  const [failure, setFailure] = useState<Error>();
  const decide = async (row: { runId: string; callId: string }, approve: boolean) => {
    setFailure(undefined);
    try {
      const reason = reasons[row.callId];
      const done = await must(
        api.POST('/api/v1/tenants/{tenant}/runs/{runId}/calls/{callId}/decision', {
          params: { path: { tenant, runId: row.runId, callId: row.callId } },
          body: { approve, ...(reason ? { reason } : {}) },
        }),
      );
      setStatus(`${done.approved ? 'Approved' : 'Denied'} ${done.tool} of run ${done.runId}.`);
      list.reload();
    } catch (err) {
      setFailure(err as Error);
    }
  };
  return (
    <section>
      <h1>Approvals</h1>
      <button type="button" class="outline" onClick={() => list.reload()}>
        Refresh
      </button>
      <p class="status" role="status" aria-live="polite">
        {status}
      </p>
      <Problem error={failure ?? list.error} />
      {!list.data && !list.error ? <Loading /> : null}
      {list.data && list.data.pending.length === 0 ? <p>No tool call is waiting for a decision.</p> : null}
      {list.data?.pending.map((row) => (
        <article key={row.callId} aria-label={`parked call ${row.callId}`}>
          <header>
            <strong>{row.tool}</strong> for agent {row.agentId} · run <a href={`#/t/${tenant}/runs/${row.runId}`}>{row.runId}</a> · waiting since {when(row.since)}
          </header>
          <pre class="args">{JSON.stringify(row.args ?? {}, null, 2)}</pre>
          <label>
            Reason (sent to the run, encrypted)
            <input type="text" value={reasons[row.callId] ?? ''} onInput={(e) => setReasons({ ...reasons, [row.callId]: (e.target as HTMLInputElement).value })} />
          </label>
          <div role="group">
            <button type="button" disabled={!row.mayDecide} onClick={() => decide(row, true)}>
              Approve
            </button>
            <button type="button" class="secondary" disabled={!row.mayDecide} onClick={() => decide(row, false)}>
              Deny
            </button>
          </div>
          {!row.mayDecide ? <small>Your roles do not allow deciding this call.</small> : null}
        </article>
      ))}
    </section>
  );
}

function Runs({ api, tenant }: { api: Api; tenant: string }) {
  const [status, setStatus] = useState('');
  const [agent, setAgent] = useState('');
  const agents = useLoad(() => must(api.GET('/api/v1/tenants/{tenant}/agents', { params: { path: { tenant } } })), [tenant]);
  const runs = useLoad(
    () => must(api.GET('/api/v1/tenants/{tenant}/runs', { params: { path: { tenant }, query: { ...(status ? { status: status as never } : {}), ...(agent ? { agent } : {}) } } })),
    [tenant, status, agent],
  );
  return (
    <section>
      <h1>Runs</h1>
      <div class="grid">
      <label>
        Agent
        <select value={agent} onChange={(e) => setAgent((e.target as HTMLSelectElement).value)}>
          <option value="">any</option>
          {agents.data?.agents.map((a) => (
            <option key={a.id} value={a.id}>
              {a.id}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
          <option value="">any</option>
          {['running', 'completed', 'failed', 'cancelled', 'budget_exceeded'].map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      </div>
      <Problem error={runs.error} />
      {!runs.data && !runs.error ? <Loading /> : null}
      {runs.data ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Agent</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Tokens</th>
              <th scope="col">Tool calls</th>
              <th scope="col">Denied</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.runs.map((r) => (
              <tr key={r.runId}>
                <td>
                  <a href={`#/t/${tenant}/runs/${r.runId}`}>{r.runId}</a>
                </td>
                <td>{r.agentId}</td>
                <td>{r.status}</td>
                <td>{when(r.startedAt)}</td>
                <td>{(r.inputTokens ?? 0) + (r.outputTokens ?? 0)}</td>
                <td>{r.toolCalls}</td>
                <td>{r.denied}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

const STEP_LABEL: Record<string, string> = { 'run.start': 'ask', 'model.call': 'model call', 'tool.call': 'tool call', 'tool.result': 'result', 'run.end': 'reply' };

function Run({ api, tenant, runId }: { api: Api; tenant: string; runId: string }) {
  const [decrypt, setDecrypt] = useState(false);
  const run = useLoad(() => must(api.GET('/api/v1/tenants/{tenant}/runs/{runId}', { params: { path: { tenant, runId }, query: { decrypt } } })), [tenant, runId, decrypt]);
  const t = run.data;
  return (
    <section>
      <h1>Run {runId}</h1>
      <Problem error={run.error} />
      {!t && !run.error ? <Loading /> : null}
      {t ? (
        <>
          <p>
            Agent <strong>{t.agentId}</strong> · {t.status} · {Math.round(t.durationMs ?? 0)} ms · {t.decrypted ? 'content decrypted (recorded in the audit log)' : 'content sealed'}
          </p>
          {!t.decrypted ? (
            <button type="button" onClick={() => setDecrypt(true)}>
              Decrypt content
            </button>
          ) : null}
          <ol class="timeline">
            {t.steps.map((s) => (
              <li key={`${s.seq}-${s.kind}-${s.callId ?? ''}`} class={`step ${s.kind?.replace('.', '-')}`}>
                <span class="kind">{STEP_LABEL[s.kind ?? ''] ?? s.kind}</span> <span class="offset">+{Math.round(s.offsetMs ?? 0)} ms</span>
                {s.model ? <span> · {s.model} · {(s.inputTokens ?? 0) + (s.outputTokens ?? 0)} tokens · {Math.round(s.durationMs ?? 0)} ms</span> : null}
                {s.tool ? <span> · {s.tool}</span> : null}
                {s.decision ? (
                  <span class={`decision ${s.decision}`}>
                    {' '}
                    · {s.decision.toUpperCase()} by {(s.policies ?? []).join(', ')}
                    {s.reasons?.length ? <em> — {s.reasons.join('; ')}</em> : null}
                  </span>
                ) : null}
                {s.approver ? <span> · approved by {s.approver}</span> : null}
                {s.status ? <span> · {s.status}</span> : null}
                {s.contentBytes ? (
                  t.decrypted ? <pre class="content">{typeof s.content === 'string' ? s.content : JSON.stringify(s.content, null, 2)}</pre> : <span class="sealed"> · sealed ({s.contentBytes} bytes)</span>
                ) : null}
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </section>
  );
}

function Audit({ api, tenant }: { api: Api; tenant: string }) {
  const log = useLoad(() => must(api.GET('/api/v1/tenants/{tenant}/audit', { params: { path: { tenant }, query: { limit: 1000 } } })), [tenant]);
  const [verified, setVerified] = useState<string>();
  const verify = async () => {
    const r = await must(api.GET('/api/v1/tenants/{tenant}/audit/verify', { params: { path: { tenant } } }));
    setVerified(r.ok ? `Chain intact: ${r.entries} entries, head ${r.head?.seq}:${r.head?.hash?.slice(0, 12)}…` : `BROKEN at entry ${r.seq} (${r.code}): ${r.message}`);
  };
  return (
    <section>
      <h1>Audit log</h1>
      <button type="button" onClick={verify}>
        Verify the chain
      </button>
      <p role="status" aria-live="polite">
        {verified}
      </p>
      <Problem error={log.error} />
      {log.data ? (
        <table>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">On</th>
              <th scope="col">Decision</th>
              <th scope="col">Policies</th>
            </tr>
          </thead>
          <tbody>
            {log.data.entries.map((e) => (
              <tr key={e.seq}>
                <td>{e.seq}</td>
                <td>{when(e.at)}</td>
                <td>{e.actor ? `${e.actor.kind}:${e.actor.id}` : ''}</td>
                <td>{e.action}</td>
                <td>{e.resource}</td>
                <td class={`decision ${e.decision}`}>{e.decision}</td>
                <td>{(e.determiningPolicies ?? []).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function Policies({ api, tenant }: { api: Api; tenant: string }) {
  const list = useLoad(() => must(api.GET('/api/v1/tenants/{tenant}/policies', { params: { path: { tenant } } })), [tenant]);
  const [form, setForm] = useState({ agent: '', tool: '', args: '{}' });
  const [answer, setAnswer] = useState<string>();
  const [failure, setFailure] = useState<Error>();
  const explain = async (e: Event) => {
    e.preventDefault();
    setFailure(undefined);
    try {
      const r = await must(api.POST('/api/v1/tenants/{tenant}/policies/explain', { params: { path: { tenant } }, body: { agent: form.agent, tool: form.tool, args: JSON.parse(form.args || '{}') } }));
      setAnswer(`${r.decision.toUpperCase()}${r.requiresApproval ? ' (needs a human approval)' : ''} — ${r.determining.map((d) => `${d.id}${d.annotations?.reason ? `: ${d.annotations.reason}` : ''}`).join('; ')}`);
    } catch (err) {
      setFailure(err as Error);
    }
  };
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  return (
    <section>
      <h1>Policies</h1>
      <form onSubmit={explain}>
        <fieldset class="grid">
          <label>
            Agent
            <input name="agent" required value={form.agent} onInput={set('agent')} />
          </label>
          <label>
            Tool
            <input name="tool" required value={form.tool} onInput={set('tool')} />
          </label>
          <label>
            Arguments (JSON)
            <input name="args" value={form.args} onInput={set('args')} />
          </label>
        </fieldset>
        <button type="submit">Explain</button>
      </form>
      <p role="status" aria-live="polite">
        {answer}
      </p>
      <Problem error={failure ?? list.error} />
      <ProposedDiff api={api} tenant={tenant} onApplied={list.reload} />
      <h2>In force</h2>
      {list.data?.policies.map((p) => (
        <details key={p.id}>
          <summary>
            {p.effect} <code>{p.id}</code> <small>{p.file}</small>
          </summary>
          <pre>{p.text}</pre>
          {p.file?.startsWith('applied/') ? <PolicyHistory api={api} tenant={tenant} name={p.file.slice('applied/'.length, -'.cedar'.length)} onRemoved={list.reload} /> : null}
        </details>
      ))}
    </section>
  );
}

type Change = { agent?: string; subject?: string; change?: string; actions?: { action?: string; before?: string; after?: string; policies?: string[] }[] };

/** What a policy change does to the tenant's agents, one line per (agent, tool or action). */
function Changes({ changes, label }: { changes: Change[]; label: string }) {
  if (changes.length === 0) return <p role="status">No agent's permissions change.</p>;
  return (
    <div role="status">
      <ul aria-label={label}>
        {changes.map((c) => (
          <li key={`${c.agent}-${c.subject}`}>
            {c.agent} {c.change} {c.subject}: {c.actions?.map((a) => `${a.action} ${a.before} → ${a.after}${a.policies?.length ? ` (${a.policies.join(', ')})` : ''}`).join('; ')}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** An applied policy's revisions, and what each changed against the one before. */
function PolicyHistory({ api, tenant, name, onRemoved }: { api: Api; tenant: string; name: string; onRemoved: () => void }) {
  const list = useLoad(() => must(api.GET('/api/v1/tenants/{tenant}/policies/{name}/revisions', { params: { path: { tenant, name } } })), [tenant, name]);
  const [shown, setShown] = useState<{ revision: number; changes: Change[] }>();
  const [failure, setFailure] = useState<Error>();
  const remove = async () => {
    setFailure(undefined);
    try {
      await must(api.DELETE('/api/v1/tenants/{tenant}/policies/{name}', { params: { path: { tenant, name } } }));
      onRemoved();
    } catch (err) {
      setFailure(err as Error);
    }
  };
  const diff = async (to: number) => {
    setFailure(undefined);
    try {
      const r = await must(api.GET('/api/v1/tenants/{tenant}/policies/{name}/diff', { params: { path: { tenant, name }, query: { from: to - 1, to } } }));
      setShown({ revision: to, changes: r.changes });
    } catch (err) {
      setFailure(err as Error);
    }
  };
  return (
    <section aria-label={`history of ${name}`}>
      <h3>History</h3>
      <Problem error={list.error ?? failure} />
      <ul>
        {list.data?.revisions.map((r) => (
          <li key={r.revision}>
            revision {r.revision}
            {r.removed ? ' (removed)' : ''} · {when(r.appliedAt)} · {r.appliedBy}{' '}
            <button type="button" class="secondary outline" onClick={() => void diff(r.revision)}>
              What revision {r.revision} changed
            </button>
          </li>
        ))}
      </ul>
      {shown ? <Changes changes={shown.changes} label={`changes of revision ${shown.revision}`} /> : null}
      <button type="button" class="secondary" onClick={() => void remove()}>
        Remove {name}
      </button>
    </section>
  );
}

/**
 * A proposed policy: what adding it would change (nothing is changed), then, for those who
 * may edit policies, applying it as one of the tenant's applied policies.
 */
function ProposedDiff({ api, tenant, onApplied }: { api: Api; tenant: string; onApplied: () => void }) {
  const [text, setText] = useState('');
  const [name, setName] = useState('');
  const [result, setResult] = useState<{ changes: Change[]; applied?: string }>();
  const [failure, setFailure] = useState<Error>();
  const run = async (call: () => Promise<{ changes: Change[]; applied?: string }>) => {
    setFailure(undefined);
    setResult(undefined);
    try {
      setResult(await call());
    } catch (err) {
      setFailure(err as Error);
    }
  };
  const diff = (e: Event) => {
    e.preventDefault();
    void run(() => must(api.POST('/api/v1/tenants/{tenant}/policies/diff', { params: { path: { tenant } }, body: { file: 'proposal.cedar', text } })));
  };
  const apply = () =>
    void run(async () => {
      const r = await must(api.PUT('/api/v1/tenants/{tenant}/policies/{name}', { params: { path: { tenant, name } }, body: { text } }));
      onApplied();
      return { changes: r.changes, applied: r.changed ? `Applied ${r.file} as revision ${r.revision}.` : `${r.file} already reads this (revision ${r.revision}).` };
    });
  return (
    <form onSubmit={diff} aria-label="proposed policy">
      <h2>Propose a policy</h2>
      <label>
        Proposed policy (Cedar)
        <textarea rows={5} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      </label>
      <label>
        Name, to apply it (applied/&lt;name&gt;.cedar)
        <input name="policy-name" pattern="[a-z0-9][a-z0-9\-]{0,62}" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      <div role="group">
        <button type="submit">Diff</button>
        <button type="button" class="secondary" disabled={!name || !text} onClick={apply}>
          Apply
        </button>
      </div>
      <Problem error={failure} />
      {result?.applied ? <p role="status">{result.applied}</p> : null}
      {result ? <Changes changes={result.changes} label="changes" /> : null}
    </form>
  );
}

function Secrets({ api, tenant }: { api: Api; tenant: string }) {
  const list = useLoad(() => must(api.GET('/api/v1/tenants/{tenant}/secrets', { params: { path: { tenant } } })), [tenant]);
  return (
    <section>
      <h1>Secrets</h1>
      <p>Names only: values never leave the secret store (set them with claw secrets set).</p>
      <Problem error={list.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Last changed</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.names.map((n) => (
            <tr key={n}>
              <td>
                <code>{n}</code>
              </td>
              <td>{when(list.data?.changed?.find((c) => c.name === n)?.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Key({ api, tenant }: { api: Api; tenant: string }) {
  const key = useLoad(() => must(api.GET('/api/v1/tenants/{tenant}/key', { params: { path: { tenant } } })), [tenant]);
  const [confirm, setConfirm] = useState('');
  const [failure, setFailure] = useState<Error>();
  const act = async (call: () => Promise<unknown>) => {
    setFailure(undefined);
    try {
      await call();
      key.reload();
    } catch (err) {
      setFailure(err as Error);
    }
  };
  return (
    <section>
      <h1>Tenant key</h1>
      <Problem error={failure ?? key.error} />
      {key.data ? (
        <p>
          State: <strong>{key.data.state}</strong>
          {key.data.versions ? ` · versions ${key.data.versions.join(', ')}` : ''}
        </p>
      ) : null}
      <button type="button" onClick={() => act(() => must(api.POST('/api/v1/tenants/{tenant}/key/rotate', { params: { path: { tenant } } })))}>
        Rotate
      </button>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => must(api.POST('/api/v1/tenants/{tenant}/key/shred', { params: { path: { tenant } }, body: { confirm } })));
        }}
      >
        <label>
          Shred: type the tenant id <code>{tenant}</code> to destroy its key. Every piece of its data becomes unreadable, permanently.
          <input value={confirm} onInput={(e) => setConfirm((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="contrast" disabled={confirm !== tenant}>
          Shred the key
        </button>
      </form>
    </section>
  );
}

// ------------------------------------------------------------------ the shell

const PAGES = [
  ['approvals', 'Approvals'],
  ['agents', 'Agents'],
  ['runs', 'Runs'],
  ['audit', 'Audit'],
  ['policies', 'Policies'],
  ['secrets', 'Secrets'],
  ['key', 'Key'],
] as const;

function Shell({ session, config }: { session: Session; config: ConsoleConfig }) {
  const api = apiClient(session.idToken);
  const route = useRoute();
  const me = useLoad(() => must(api.GET('/api/v1/me')) as Promise<Me>, [session.idToken]);
  const [, tenant, page, id] = route[0] === 't' ? route : [];
  const body = () => {
    if (!me.data) return me.error ? <Problem error={me.error} /> : <Loading />;
    if (!tenant) return <Tenants me={me.data} />;
    if (page === 'agents') return <Agents api={api} tenant={tenant} />;
    if (page === 'runs' && id) return <Run api={api} tenant={tenant} runId={id} />;
    if (page === 'runs') return <Runs api={api} tenant={tenant} />;
    if (page === 'audit') return <Audit api={api} tenant={tenant} />;
    if (page === 'policies') return <Policies api={api} tenant={tenant} />;
    if (page === 'secrets') return <Secrets api={api} tenant={tenant} />;
    if (page === 'key') return <Key api={api} tenant={tenant} />;
    return <Approvals api={api} tenant={tenant} />;
  };
  void config;
  return (
    <>
      <header class="container">
        <nav aria-label="main">
          <ul>
            <li>
              <a href="#/">
                <strong>Claw</strong>
              </a>
            </li>
            {tenant ? <li>{tenant}</li> : null}
          </ul>
          <ul>
            {tenant
              ? PAGES.map(([p, label]) => (
                  <li key={p}>
                    <a href={`#/t/${tenant}/${p}`} aria-current={page === p || (!page && p === 'approvals') ? 'page' : undefined}>
                      {label}
                    </a>
                  </li>
                ))
              : null}
            <li>
              <small>{session.user}</small>
            </li>
            <li>
              <button
                type="button"
                class="outline"
                onClick={() => {
                  signOut();
                  location.reload();
                }}
              >
                Sign out
              </button>
            </li>
          </ul>
        </nav>
      </header>
      <main class="container">{body()}</main>
    </>
  );
}

function App() {
  const [state, setState] = useState<{ config?: ConsoleConfig; session?: Session; error?: Error }>({});
  useEffect(() => {
    (async () => {
      const config = (await (await fetch('/console/config.json')).json()) as ConsoleConfig;
      const session = (await completeSignIn(config).catch((error: Error) => setState({ config, error }))) ?? currentSession();
      setState((s) => ({ ...s, config, ...(session ? { session } : {}) }));
    })().catch((error: Error) => setState({ error }));
  }, []);
  if (state.session && state.config) return <Shell session={state.session} config={state.config} />;
  return (
    <main class="container signin">
      <h1>Claw console</h1>
      <Problem error={state.error} />
      {!state.config ? <Loading /> : null}
      {state.config && !state.config.issuer ? <p>This install has no sign-in configured (claw.yaml access.oidc).</p> : null}
      {state.config?.issuer ? (
        <button type="button" onClick={() => signIn(state.config!).catch((error: Error) => setState((s) => ({ ...s, error })))}>
          Sign in with {new URL(state.config.issuer).host}
        </button>
      ) : null}
    </main>
  );
}

render(<App />, document.getElementById('app')!);
