// A real OpenID provider (the oidc-provider package) for one test, served over HTTPS with a
// certificate of the test's own CA, with one confidential client and a few accounts. Its login is
// oidc-provider's development interaction: any password, the login names the account.

import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";
import type { TestCertificates } from "./test-ca.js";

export interface ProviderAccount {
  preferred_username: string;
  groups: string[];
}

export interface OpenIdProvider {
  /** https://127.0.0.1:PORT */
  issuer: string;
  close(): Promise<void>;
}

export interface ProviderOptions {
  certs: TestCertificates;
  client: { id: string; secret: string; redirectUri: string };
  /** By account id (what one types as the login). */
  accounts: Record<string, ProviderAccount>;
}

export async function startOpenIdProvider(options: ProviderOptions): Promise<OpenIdProvider> {
  const server = createServer({ cert: options.certs.cert, key: options.certs.key });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signing = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.client.id,
        client_secret: options.client.secret,
        redirect_uris: [options.client.redirectUri],
        response_types: ["code"],
        grant_types: ["authorization_code"],
        id_token_signed_response_alg: "ES256",
      },
    ],
    // The profile and the groups come in the userinfo answer, as most providers send them.
    claims: { openid: ["sub"], profile: ["preferred_username"], groups: ["groups"] },
    findAccount: async (_ctx: unknown, id: string) => {
      const account = options.accounts[id];
      return account && { accountId: id, claims: async () => ({ sub: id, ...account }) };
    },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(16).toString("hex")] },
    jwks: { keys: [{ ...signing, alg: "ES256", use: "sig", kid: "test" }] },
    features: { devInteractions: { enabled: true } },
  });
  server.on("request", provider.callback());
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
