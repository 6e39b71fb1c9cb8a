// Address lists in CIDR form (trusted proxies, who may read /metrics), checked with Node's BlockList.

import { BlockList, isIP } from "node:net";

/** The address and prefix length of `cidr`, or undefined when it is not one. */
export function parseCidr(cidr: string): { address: string; bits: number; family: "ipv4" | "ipv6" } | undefined {
  const [address = "", bitsText = ""] = cidr.split("/");
  const version = isIP(address);
  const bits = Number(bitsText);
  if (version === 0 || !/^[0-9]{1,3}$/.test(bitsText) || bits > (version === 4 ? 32 : 128)) return undefined;
  return { address, bits, family: version === 4 ? "ipv4" : "ipv6" };
}

export interface AddressList {
  has(address: string): boolean;
}

/** A list of CIDRs (already validated); an IPv4 address seen as ::ffff:a.b.c.d counts as a.b.c.d. */
export function addressList(cidrs: readonly string[]): AddressList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (parsed) list.addSubnet(parsed.address, parsed.bits, parsed.family);
  }
  return {
    has(address) {
      const plain = address.replace(/^::ffff:(?=[0-9.]+$)/, "");
      const version = isIP(plain);
      return version !== 0 && list.check(plain, version === 4 ? "ipv4" : "ipv6");
    },
  };
}
