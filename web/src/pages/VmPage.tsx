// One VM: its state and the steps of its start, how to connect, Start, Reboot and Stop, its expiry with Extend, Terminate, who
// ended it and why, its history and its boot log.

import { Link, useLocation } from "wouter";
import { useMemo } from "react";
import { DEPLOY_STEPS, STATE_WORDS, deployStep, expiresIn, isBooting, isLeaving, othersVm, printableLog } from "../../../src/portal/rules.ts";
import type { MeWithLimits } from "../api/me.ts";
import { ErrorNote, Loading, PageTitle, Responding, StateBadge, Table, When } from "../components/ui.tsx";
import { useNow } from "../components/useNow.ts";
import { ConnectLine, ExtendControl, ImageName, PowerButtons, TerminateButton } from "../components/vm.tsx";
import { useVm, useVmHistory, useVmLog } from "../queries/vms.ts";
import type { Vm } from "../../../src/core/api.ts";
import { useQueryClient } from "@tanstack/react-query";
import { keys } from "../queries/keys.ts";

function Steps({ vm }: { vm: Vm }) {
  const at = deployStep(vm);
  if (at === -1 || at === DEPLOY_STEPS.length - 1) return null;
  return (
    <ol className="steps" aria-label="Start-up progress">
      {DEPLOY_STEPS.map((step, i) => (
        <li key={step} className={i < at ? "done" : i === at ? "now" : "todo"} aria-current={i === at ? "step" : undefined}>
          {i === at && <span className="spinner" aria-hidden="true" />}
          {step}
        </li>
      ))}
    </ol>
  );
}

function History({ id }: { id: string }) {
  const history = useVmHistory(id);
  if (history.isPending) return <Loading what="its history" />;
  if (history.isError) return <ErrorNote error={history.error} what="Its history could not be read" />;
  return (
    <Table caption="State history" columns={["When", "State", "By", "Detail"]}>
          {history.data.items.map((h, i) => (
            <tr key={i}>
              <td>
                <When at={h.at} seconds />
              </td>
              <td>{h.state}</td>
              <td>{h.by ?? ""}</td>
              <td>{h.detail ?? ""}</td>
            </tr>
          ))}
        </Table>
  );
}

function BootLog({ id, booting }: { id: string; booting: boolean }) {
  const log = useVmLog(id, booting);
  const client = useQueryClient();
  const text = useMemo(() => (log.data === undefined ? undefined : printableLog(log.data)), [log.data]);
  return (
    <>
      <div className="section-head">
        <h2 id="log-title">Boot log</h2>
        <button type="button" className="small" onClick={() => void client.invalidateQueries({ queryKey: keys.vmLog(id) })} disabled={log.isFetching}>
          {log.isFetching ? "Reading…" : "Refresh"}
        </button>
      </div>
      <ErrorNote error={log.error} what="The boot log could not be read" />
      {text !== undefined &&
        (text === "" ? (
          <p className="muted">Nothing yet: the console's output appears here once the VM boots.</p>
        ) : (
          <pre className="log" tabIndex={0} aria-labelledby="log-title">
            {text}
          </pre>
        ))}
    </>
  );
}

export function VmPage({ id, me }: { id: string; me: MeWithLimits }) {
  const vm = useVm(id);
  const now = useNow();
  const [, navigate] = useLocation();
  if (vm.isPending) return <Loading what="the VM" />;
  if (vm.isError) {
    return (
      <>
        <PageTitle title="VM">VM not found</PageTitle>
        <ErrorNote error={vm.error} />
        <p>
          <Link href="/">Back to My VMs</Link>
        </p>
      </>
    );
  }
  const v = vm.data;
  const gone = isLeaving(v);
  const others = othersVm(me, v);
  return (
    <>
      <p className="crumbs">
        <Link href={others ? "/admin" : "/"}>{others ? "All VMs" : "Your VMs"}</Link> › {v.name}
      </p>
      <div className="page-head">
        <PageTitle title={v.name}>{v.name}</PageTitle>
        <StateBadge vm={v} />
      </div>
      <p className="state-words" role="status">
        {STATE_WORDS[v.state]}
        {v.state === "running" && !v.responding && " Waiting for its ssh to answer…"}
      </p>
      <Steps vm={v} />
      {v.state === "failed" && v.error && (
        <p className="error" role="alert">
          It failed: {v.error}
        </p>
      )}
      {v.terminatedBy && (
        <p className={v.terminatedBy === me.username ? "note" : "note note-warn"}>
          {v.terminatedBy === me.username ? "You terminated it" : `Terminated by ${v.terminatedBy}`}
          {v.reason ? `: ${v.reason}` : "."}
        </p>
      )}
      {!gone && (
        <section aria-labelledby="connect-title">
          <h2 id="connect-title">Connect</h2>
          <ConnectLine vm={v} full />
        </section>
      )}
      <section aria-labelledby="facts-title">
        <h2 id="facts-title" className="visually-hidden">
          Details
        </h2>
        <dl className="facts">
          <dt>Owner</dt>
          <dd>{v.owner}</dd>
          <dt>Image</dt>
          <dd>
            <ImageName tag={v.image} />
          </dd>
          <dt>Size</dt>
          <dd>
            {v.memoryMiB} MiB, {v.cpus} cpu{v.cpus === 1 ? "" : "s"}
          </dd>
          <dt>Host</dt>
          <dd>{v.host}</dd>
          {!gone && (
            <>
              <dt>Responding</dt>
              <dd>
                <Responding vm={v} />
                {v.lastSeenAt && (
                  <span className="muted">
                    {" "}
                    (last seen <When at={v.lastSeenAt} />)
                  </span>
                )}
              </dd>
            </>
          )}
          <dt>Created</dt>
          <dd>
            <When at={v.createdAt} />
          </dd>
          {!gone && (
            <>
              <dt>Expires</dt>
              <dd>
                {v.expiresAt === null ? (
                  "never"
                ) : (
                  <>
                    <When at={v.expiresAt} /> ({expiresIn(v.expiresAt, now)})
                  </>
                )}
              </dd>
            </>
          )}
        </dl>
      </section>
      {!gone && (
        <section aria-labelledby="actions-title" className="vm-actions">
          <h2 id="actions-title">Actions</h2>
          <PowerButtons vm={v} />
          <ExtendControl vm={v} limits={me.limits} />
          <TerminateButton vm={v} me={me} />
        </section>
      )}
      {gone && (
        <p>
          <button type="button" onClick={() => navigate(others ? "/admin" : "/")}>
            Back to the list
          </button>
        </p>
      )}
      <section aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        <History id={v.id} />
      </section>
      <section>
        <BootLog id={v.id} booting={isBooting(v)} />
      </section>
    </>
  );
}
