// The text box an ssh public key is pasted into, checked as it is typed (the rule is checkSshKey).

import { useId } from "react";
import { checkSshKey } from "../../../src/portal/rules.ts";

/** What a pasted text is: empty, a key (the line to save), or a problem in words. */
export function keyCheck(text: string, name = ""): { key: string | null; problem: string | null } {
  if (text.trim() === "") return { key: null, problem: null };
  const checked = checkSshKey(text, name);
  return "key" in checked ? { key: checked.key, problem: null } : { key: null, problem: checked.problem };
}

export function KeyField({ label, value, onChange, valid, empty }: { label: string; value: string; onChange: (text: string) => void; valid: string; empty: string }) {
  const id = useId();
  const { key, problem } = keyCheck(value);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        rows={3}
        spellCheck={false}
        placeholder="ssh-ed25519 AAAA… you@laptop"
        aria-invalid={problem !== null}
        aria-describedby={`${id}-check`}
      />
      <p id={`${id}-check`} className={problem ? "error" : "hint"} aria-live="polite">
        {problem ?? (key !== null ? valid : empty)}
      </p>
    </div>
  );
}
