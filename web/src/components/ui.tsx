// The small pieces every page uses: state badges, copy buttons, errors in words, empty states, bars.

import { useEffect, useRef, useState, type ReactNode } from "react";
import type { Vm } from "../../../src/core/api.ts";
import { STATE_WORDS, stateTone } from "../../../src/portal/rules.ts";
import { ApiError } from "../api/client.ts";

export function StateBadge({ vm }: { vm: Pick<Vm, "state"> & Partial<Pick<Vm, "transition">> }) {
  const tone = stateTone(vm.state, vm.transition ?? null);
  return (
    <span className={`badge badge-${tone}`} title={STATE_WORDS[vm.state]}>
      {tone === "busy" && <span className="spinner" aria-hidden="true" />}
      {vm.state}
    </span>
  );
}

export function Responding({ vm }: { vm: Pick<Vm, "state" | "responding"> }) {
  if (vm.state !== "running") return <span className="muted">—</span>;
  return vm.responding ? <span className="ok-text">yes</span> : <span className="warn-text">not yet</span>;
}

/** Copies `text`; says so to screen readers too. Works on plain HTTP, where navigator.clipboard is absent. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(t);
  }, [copied]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    setCopied(true);
  };
  return (
    <button type="button" className="small" onClick={() => void copy()} aria-label={label}>
      {copied ? "Copied" : "Copy"}
      <span className="visually-hidden" aria-live="polite">
        {copied ? " copied" : ""}
      </span>
    </button>
  );
}

/** An error as the person reads it: the problem's detail, never a stack or a status code alone. */
export function ErrorNote({ error, what }: { error: unknown; what?: string }) {
  if (error === null || error === undefined) return null;
  const detail = error instanceof ApiError ? error.problem.detail : error instanceof Error ? error.message : "Something went wrong: try again.";
  return (
    <p className="error" role="alert">
      {what ? `${what}: ` : ""}
      {detail}
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

/** A bar of used (and about to be used) of max, with its words; the words are what assistive tech reads. */
export function Bar({ label, used, adding = 0, max, words }: { label: string; used: number; adding?: number; max: number | null; words: string }) {
  const pct = (n: number) => (max === null || max === 0 ? 0 : Math.min(100, (n / max) * 100));
  const over = max !== null && used + adding > max;
  return (
    <div className="bar-line">
      <span className="bar-label">{label}</span>
      {max === null ? (
        <span className="bar-none">no limit</span>
      ) : (
        <span className={`bar${over ? " bar-over" : ""}`} aria-hidden="true">
          <span className="bar-used" style={{ width: `${pct(used)}%` }} />
          <span className="bar-adding" style={{ width: `${pct(adding)}%` }} />
        </span>
      )}
      <span className="bar-words">{words}</span>
    </div>
  );
}

/** The page's heading, focused when the page opens so that keyboard and screen reader users start there. */
export function PageTitle({ children, title }: { children: ReactNode; title: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · vgrid`;
    ref.current?.focus();
  }, [title]);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

/** A time as a person reads it, with the exact time for a machine and on hover. */
export function When({ at, children, seconds = false }: { at: string | null; children?: ReactNode; seconds?: boolean }) {
  if (at === null) return <span className="muted">—</span>;
  const date = new Date(at);
  return (
    <time dateTime={at} title={date.toLocaleString()}>
      {children ?? date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: seconds ? "medium" : "short" })}
    </time>
  );
}

/** A plain table: its caption for screen readers, its column headings, and the rows as children. */
export function Table({ caption, columns, className = "", children }: { caption: string; columns: string[]; className?: string; children: ReactNode }) {
  return (
    // Focusable, so that a table wider than a phone scrolls with the keyboard too.
    <div className="table-wrap" tabIndex={0} role="region" aria-label={caption}>
      <table className={`plain ${className}`}>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th scope="col" key={i}>
                {c === "" ? <span className="visually-hidden">Actions</span> : c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
