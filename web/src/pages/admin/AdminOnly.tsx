// The admin pages' gate: the API refuses a non-admin anyway (403); this says so before asking it.

import type { ReactNode } from "react";
import { Link, useLocation } from "wouter";
import type { MeWithLimits } from "../../api/me.ts";
import { PageTitle } from "../../components/ui.tsx";

export function AdminOnly({ me, children }: { me: MeWithLimits; children: ReactNode }) {
  if (me.admin) return <>{children}</>;
  return (
    <>
      <PageTitle title="Not allowed">Administrators only</PageTitle>
      <p role="alert" className="error">
        You are logged in as {me.username}, who is not an administrator of this vgrid: the admin pages are not for you.
      </p>
      <p>
        <Link href="/">Your own VMs</Link> are a click away.
      </p>
    </>
  );
}

/** The tabs between the admin pages. */
export function AdminTabs() {
  const [path] = useLocation();
  const tab = (href: string, label: string) => (
    <Link href={href} aria-current={path === href ? "page" : undefined}>
      {label}
    </Link>
  );
  return (
    <nav aria-label="Admin" className="tabs">
      {tab("/admin", "All VMs")}
      {tab("/admin/hosts", "Hosts")}
      {tab("/admin/audit", "Audit")}
    </nav>
  );
}
