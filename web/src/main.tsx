// The vgrid portal: a single-page app on the public REST API, served by the vgrid server.

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Route, Switch } from "wouter";
import { ApiError } from "./api/client.ts";
import { Layout } from "./components/Layout.tsx";
import { ErrorNote, Loading } from "./components/ui.tsx";
import { useVmEvents } from "./queries/events.ts";
import { useMe } from "./queries/me.ts";
import { AdminVmsPage } from "./pages/admin/AdminVmsPage.tsx";
import { AuditPage } from "./pages/admin/AuditPage.tsx";
import { HostsPage } from "./pages/admin/HostsPage.tsx";
import { AdminOnly } from "./pages/admin/AdminOnly.tsx";
import { DeployPage } from "./pages/DeployPage.tsx";
import { KeysPage } from "./pages/KeysPage.tsx";
import { NotFoundPage } from "./pages/NotFoundPage.tsx";
import { VmPage } from "./pages/VmPage.tsx";
import { VmsPage } from "./pages/VmsPage.tsx";
import { PAGES } from "../../src/portal/pages.ts";
import "./styles.css";

const client = new QueryClient({
  defaultOptions: {
    queries: {
      // The event stream keeps what is shown fresh: no refetch on every focus, no retry of a refusal.
      refetchOnWindowFocus: false,
      retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
    },
  },
});

function App() {
  const me = useMe();
  const stream = useVmEvents(me.data?.username);
  if (me.isPending) return <Loading what="the portal" />;
  // A failed refetch keeps what was known; only a first answer that never came is an error page.
  if (me.data === undefined) return <main id="main"><ErrorNote error={me.error} /></main>;
  const user = me.data;
  return (
    <Layout me={user} stream={stream}>
      <Switch>
        <Route path={PAGES.home}>{() => <VmsPage me={user} />}</Route>
        <Route path={PAGES.vms}>{() => <VmsPage me={user} />}</Route>
        <Route path={PAGES.vm}>{(params: { id: string }) => <VmPage id={params.id} me={user} />}</Route>
        <Route path={PAGES.deploy}>{() => <DeployPage me={user} />}</Route>
        <Route path={PAGES.keys}>{() => <KeysPage me={user} />}</Route>
        <Route path={PAGES.admin}>{() => <AdminOnly me={user}><AdminVmsPage me={user} /></AdminOnly>}</Route>
        <Route path={PAGES.adminHosts}>{() => <AdminOnly me={user}><HostsPage /></AdminOnly>}</Route>
        <Route path={PAGES.adminAudit}>{() => <AdminOnly me={user}><AuditPage /></AdminOnly>}</Route>
        <Route>{() => <NotFoundPage />}</Route>
      </Switch>
    </Layout>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={client}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
