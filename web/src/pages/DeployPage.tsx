// Deploy: an image by its display name, a size within its limits, a lifetime within the policy; the
// quota, what this VM takes of it, what is left, and when it will expire, all before pressing Deploy.

import { useId, useState } from "react";
import { useLocation } from "wouter";
import {
  capacityWords,
  cpuChoices,
  deployRefusal,
  expiryAfter,
  formatHours,
  lifetimeChoices,
  memoryChoices,
  memoryRange,
  nearestAllowed,
  quotaAfterDeploy,
  type Choice,
} from "../../../src/portal/rules.ts";
import type { MeWithLimits } from "../api/me.ts";
import { Bar, Empty, ErrorNote, Loading, PageTitle } from "../components/ui.tsx";
import { useNow } from "../components/useNow.ts";
import { useImages } from "../queries/catalog.ts";
import { useSaveSshKeys } from "../queries/me.ts";
import { useDeploy } from "../queries/vms.ts";
import { KeyField, keyCheck } from "../components/KeyField.tsx";

function ChoiceSelect({ label, choices, value, onChange, hint }: { label: string; choices: Choice[]; value: number; onChange: (n: number) => void; hint?: string }) {
  const id = useId();
  const hintId = useId();
  const refused = choices.filter((c) => c.disabled !== null);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(Number(e.target.value))} aria-describedby={hintId}>
        {choices.map((c) => (
          <option key={c.value} value={c.value} disabled={c.disabled !== null}>
            {c.label}
            {c.disabled ? ` — not available: ${c.disabled}` : ""}
          </option>
        ))}
      </select>
      <p id={hintId} className="hint">
        {refused.length > 0 ? `Larger sizes are disabled: ${refused[0]!.disabled}.` : (hint ?? "")}
      </p>
    </div>
  );
}

export function DeployPage({ me }: { me: MeWithLimits }) {
  const images = useImages();
  const deploy = useDeploy();
  const [, navigate] = useLocation();
  const now = useNow(60_000);
  const [tag, setTag] = useState<string | undefined>(undefined);
  const [memory, setMemory] = useState<number | undefined>(undefined);
  const [cpus, setCpus] = useState<number | undefined>(undefined);
  const [hours, setHours] = useState<number>(me.limits.defaultHours);
  const imageId = useId();
  const [keyText, setKeyText] = useState("");
  const saveKey = useSaveSshKeys();
  // A person without a key pastes one here, saved with the deploy: no detour through the Keys page.
  const needsKey = me.sshKeys.length === 0;
  const { key: pastedKey, problem: keyProblem } = keyCheck(keyText);

  if (images.isPending) return <Loading what="the images" />;
  if (images.isError) return <ErrorNote error={images.error} what="The images could not be read" />;
  const list = images.data.items;
  if (list.length === 0) {
    return (
      <>
        <PageTitle title="Deploy">Deploy a VM</PageTitle>
        <Empty title="There is no image you may deploy.">
          <p>Ask an administrator to add one to the catalog.</p>
        </Empty>
      </>
    );
  }
  const image = list.find((i) => i.tag === tag) ?? list[0]!;
  const memoryOptions = memoryChoices(image, me.quota);
  const cpuOptions = cpuChoices(image, me.quota);
  const memoryMiB = nearestAllowed(memoryOptions, memory ?? image.defaultMemoryMiB);
  const cpuCount = nearestAllowed(cpuOptions, cpus ?? 1);
  const blocked = deployRefusal(me.quota, memoryOptions, cpuOptions, me.capacity.freeVms);
  const expires = expiryAfter(now, hours);

  return (
    <>
      <PageTitle title="Deploy">Deploy a VM</PageTitle>
      <form
        className="deploy"
        onSubmit={(e) => {
          e.preventDefault();
          if (blocked) return;
          const go = () => deploy.mutate({ image: image.tag, memoryMiB, cpus: cpuCount, hours }, { onSuccess: (vm) => navigate(`/vms/${vm.id}`) });
          if (needsKey && pastedKey !== null) saveKey.mutate([pastedKey], { onSuccess: go });
          else go();
        }}
      >
        <div className="deploy-choices">
          <div className="field">
            <label htmlFor={imageId}>Image</label>
            <select
              id={imageId}
              value={image.tag}
              onChange={(e) => {
                setTag(e.target.value);
                setMemory(undefined);
              }}
              aria-describedby={`${imageId}-about`}
            >
              {list.map((i) => (
                <option key={i.tag} value={i.tag}>
                  {i.name}
                </option>
              ))}
            </select>
            <p id={`${imageId}-about`} className="hint">
              {image.description ?? `Image ${image.tag}; the catalog has no description of it.`}
            </p>
          </div>
          <ChoiceSelect label="Memory" choices={memoryOptions} value={memoryMiB} onChange={setMemory} hint={`This image takes ${memoryRange(image)}.`} />
          <ChoiceSelect label="CPUs" choices={cpuOptions} value={cpuCount} onChange={setCpus} hint={`This image takes 1 to ${image.maxCpus}.`} />
          <ChoiceSelect
            label="Lifetime"
            choices={lifetimeChoices(me.limits)}
            value={hours}
            onChange={setHours}
            hint={`You can extend it later, each time to at most ${formatHours(me.limits.maxHours)} ahead.`}
          />
        </div>
        <section className="summary" aria-labelledby="summary-title">
          <h2 id="summary-title">What it takes</h2>
          {quotaAfterDeploy(me.quota, memoryMiB, cpuCount).map((line) => (
            <Bar key={line.label} label={line.label} used={line.used} adding={line.adding} max={line.max} words={line.words} />
          ))}
          <p className="capacity-line">{capacityWords(me.capacity.freeVms)}</p>
          <p className="expiry-line">
            Expires <strong>{expires.toLocaleString(undefined, { dateStyle: "full", timeStyle: "short" })}</strong> ({formatHours(hours)} from now),
            unless you extend it.
          </p>
          {needsKey && (
            <KeyField
              label="Your ssh public key"
              value={keyText}
              onChange={setKeyText}
              valid="A valid key: it is saved with your keys, for this VM and the next ones."
              empty="You have no ssh key stored: paste yours (~/.ssh/id_ed25519.pub), or manage them on the Keys page. Without one only your lab's key server can let you in."
            />
          )}
          {blocked && (
            <p className="error" role="alert">
              {blocked}
            </p>
          )}
          <ErrorNote error={saveKey.error} what="Your key was not saved" />
          <ErrorNote error={deploy.error} what="Not deployed" />
          <button type="submit" className="primary big" disabled={blocked !== null || deploy.isPending || saveKey.isPending || keyProblem !== null}>
            {deploy.isPending ? "Deploying…" : "Deploy"}
          </button>
        </section>
      </form>
    </>
  );
}

