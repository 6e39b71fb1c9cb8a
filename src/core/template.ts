// Renders the seed's config templates (`${name}` variables) with values escaped for the target format.
// Pure: the qemu driver uses it for kernel command lines, the libvirt driver for domain XML.

import { Invalid, VgridError } from "./errors.js";
import { printable } from "./names.js";
import type { VmSpec } from "./protocol.js";

/** The seed spells the address both `${vmIP}` and `${vmIp}`: either name finds the other's value. */
const ALIASES: Readonly<Record<string, string>> = { vmIP: "vmIp", vmIp: "vmIP" };

// `$${x}` is the escape for a literal `${x}`; `${` with no closing brace or a name that is not an
// identifier is an error rather than text, so a typo in a template never reaches a guest.
const PLACEHOLDER = /\$(\$?)\{([^}]*)(\}?)/g;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Substitutes every `${name}` of `template` with `escape(vars[name])`.
 * A variable that is missing (or undefined at run time) is an error naming it: never the text
 * "undefined" (the seed's pygrub bug put `None` on guests' command lines). An empty string is a value.
 */
export function renderTemplate(
  template: string,
  vars: Record<string, string>,
  escape: (value: string) => string,
): string {
  return template.replace(PLACEHOLDER, (match: string, dollar: string, name: string, close: string) => {
    if (dollar === "$") return match.slice(1);
    if (close !== "}") {
      throw new Invalid("template", `template has '\${' without a closing '}': '${printable(match, 40)}'`);
    }
    if (!IDENTIFIER.test(name)) {
      throw new Invalid("template", `template variable '\${${printable(name, 40)}}' is not a variable name`);
    }
    const value = lookUp(vars, name);
    if (typeof value !== "string") {
      const known = Object.keys(vars).sort().join(", ");
      throw new Invalid("template", `template variable '\${${name}}' has no value; known variables: ${known}`);
    }
    try {
      return escape(value);
    } catch (err) {
      if (err instanceof VgridError) {
        throw new Invalid("template", `template variable '\${${name}}': ${err.message}`);
      }
      throw err;
    }
  });
}

function lookUp(vars: Record<string, string>, name: string): string | undefined {
  if (Object.hasOwn(vars, name)) return vars[name];
  const alias = ALIASES[name];
  if (alias !== undefined && Object.hasOwn(vars, alias)) return vars[alias];
  return undefined;
}

// The kernel splits its command line on spaces and gives double quotes a meaning of their own, with no
// way to escape a quote inside quotes: a value that needs quoting cannot be passed safely at all.
const UNSAFE_ON_CMDLINE = /[\s"'\\\p{Cc}]/u;

/** Lets through only values that stay one word on a kernel command line; rejects the rest. */
export function kernelCmdlineEscape(value: string): string {
  if (UNSAFE_ON_CMDLINE.test(value)) {
    throw new Invalid(
      "cmdline",
      `value '${printable(value)}' cannot go on a kernel command line: no spaces, quotes, backslashes or control characters`,
    );
  }
  return value;
}

/** The seed's template variables for one VM, plus the newer ones (cpus, mac). */
export function templateVarsFor(spec: VmSpec, extra: { vmIp: string }): Record<string, string> {
  return {
    machinename: spec.machineName,
    vmHostname: spec.hostname,
    vmMemory: String(spec.memoryMiB),
    username: spec.owner,
    vmExtra: spec.extra,
    vmIp: extra.vmIp,
    cpus: String(spec.cpus),
    mac: spec.mac,
  };
}
