// A modal question before something that cannot be undone, on the browser's own <dialog>: focus moves
// into it and stays there, Escape cancels, and it is announced as a dialog.

import { useEffect, useId, useRef, useState, type ReactNode } from "react";

export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirm: string;
  /** When set, a required text box of this label whose text is passed to onConfirm. */
  reasonLabel?: string;
  busy?: boolean;
  onConfirm: (reason: string) => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const reasonId = useId();
  const [reason, setReason] = useState("");
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) {
      setReason("");
      dialog.showModal();
    } else if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  const needsReason = props.reasonLabel !== undefined;
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={props.onCancel} className="dialog">
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (needsReason && reason.trim() === "") return;
          props.onConfirm(reason.trim());
        }}
      >
        <h2 id={titleId}>{props.title}</h2>
        {props.children}
        {needsReason && (
          <>
            <label htmlFor={reasonId}>{props.reasonLabel}</label>
            <textarea id={reasonId} value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500} rows={3} />
          </>
        )}
        <div className="actions">
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="submit" className="danger" disabled={props.busy || (needsReason && reason.trim() === "")}>
            {props.confirm}
          </button>
        </div>
      </form>
    </dialog>
  );
}
