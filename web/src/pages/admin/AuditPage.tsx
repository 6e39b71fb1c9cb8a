// Admin: the audit log, newest first, searched by any word and filtered by action.

import { useId, useState } from "react";
import { AUDIT_ACTIONS } from "../../../../src/portal/rules.ts";
import type { AuditFilter } from "../../api/catalog.ts";
import { Empty, ErrorNote, Loading, PageTitle, Table, When } from "../../components/ui.tsx";
import { useAudit } from "../../queries/catalog.ts";
import { AdminTabs } from "./AdminOnly.tsx";

export function AuditPage() {
  const [text, setText] = useState("");
  const [action, setAction] = useState("");
  const [filter, setFilter] = useState<AuditFilter>({});
  const audit = useAudit(filter);
  const searchId = useId();
  const actionId = useId();
  const items = audit.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <PageTitle title="Audit">Audit log</PageTitle>
      <AdminTabs />
      <form
        className="filters"
        role="search"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ q: text.trim() || undefined, action: action.trim() || undefined });
        }}
      >
        <div className="field grow">
          <label htmlFor={searchId}>Search</label>
          <input id={searchId} type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="a user, a VM id, words of the detail" />
        </div>
        <div className="field">
          <label htmlFor={actionId}>Action</label>
          <input id={actionId} value={action} onChange={(e) => setAction(e.target.value)} placeholder="vm.terminate" list={`${actionId}-list`} />
          <datalist id={`${actionId}-list`}>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </div>
        <button type="submit" className="small">
          Search
        </button>
      </form>
      {audit.isPending && <Loading what="the audit log" />}
      <ErrorNote error={audit.error} what="The audit log could not be read" />
      {audit.data && items.length === 0 && <Empty title="Nothing matches.">{filter.q || filter.action ? <p>Try other words.</p> : <p>Nothing has happened yet.</p>}</Empty>}
      {items.length > 0 && (
        <Table caption="Audit log" columns={["When", "Who", "Action", "Target", "From", "Detail"]} className="audit">
              {items.map((e, i) => (
                <tr key={`${e.at}-${i}`}>
                  <td>
                    <When at={e.at} />
                  </td>
                  <td>{e.actor}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td className="target">{e.target ?? ""}</td>
                  <td>{e.ip ?? ""}</td>
                  <td>{e.detail ?? ""}</td>
                </tr>
              ))}
            </Table>
      )}
      {audit.hasNextPage && (
        <button type="button" onClick={() => void audit.fetchNextPage()} disabled={audit.isFetchingNextPage}>
          {audit.isFetchingNextPage ? "Loading…" : "Show older"}
        </button>
      )}
    </>
  );
}
