// The frame of every page: the skip link, the navigation (Admin only for admins), who is logged in, the
// live stream's state, and Log out.

import { useState, type ReactNode } from "react";
import { Link, useLocation } from "wouter";
import { logOut } from "../api/me.ts";
import type { MeWithLimits } from "../api/me.ts";
import type { StreamState } from "../queries/events.ts";

function NavLink({ href, children, match }: { href: string; children: ReactNode; match: (path: string) => boolean }) {
  const [path] = useLocation();
  const current = match(path);
  return (
    <Link href={href} aria-current={current ? "page" : undefined} className={current ? "current" : undefined}>
      {children}
    </Link>
  );
}

export function Layout({ me, stream, children }: { me: MeWithLimits; stream: StreamState; children: ReactNode }) {
  const [failed, setFailed] = useState(false);
  const out = async () => {
    try {
      await logOut();
      // `out`: the login page then says so, even to someone the lab's proxy or certificate still names.
      window.location.assign("/login?out=1");
    } catch {
      setFailed(true);
    }
  };
  return (
    <>
      <a className="skip" href="#main">
        Skip to the page
      </a>
      <header className="top">
        <Link href="/" className="brand">
          vgrid
        </Link>
        <nav aria-label="Main">
          <NavLink href="/" match={(p) => p === "/" || p.startsWith("/vms")}>
            My VMs
          </NavLink>
          <NavLink href="/deploy" match={(p) => p === "/deploy"}>
            Deploy
          </NavLink>
          <NavLink href="/keys" match={(p) => p === "/keys"}>
            Keys
          </NavLink>
          {me.admin && (
            <NavLink href="/admin" match={(p) => p.startsWith("/admin")}>
              Admin
            </NavLink>
          )}
        </nav>
        <div className="who">
          <span className={`live live-${stream}`} title={stream === "live" ? "Changes appear as they happen" : "Reconnecting to the server for live updates"}>
            {stream === "live" ? "live" : "reconnecting…"}
          </span>
          <span className="username">
            {me.username}
            {me.admin ? " (administrator)" : ""}
          </span>
          <button type="button" className="small" onClick={() => void out()}>
            Log out
          </button>
        </div>
      </header>
      {failed && (
        <p className="error" role="alert">
          Not logged out: the server could not be reached. Try again in a moment.
        </p>
      )}
      <main id="main">{children}</main>
    </>
  );
}
