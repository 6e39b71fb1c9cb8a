// OpenID Connect single sign-on with openid-client: the authorization code flow with PKCE (S256),
// state and nonce. openid-client discovers the provider, exchanges the code and validates the ID
// token (issuer, audience, signature, expiry, nonce); this module turns the answer into a vgrid user:
// the username from `usernameClaim`, the groups from `groupsClaim`, an admin for the session when a
// group is among `adminGroups`.

import { readFile } from "node:fs/promises";
import * as client from "openid-client";
import { ConfigError } from "../../core/errors.js";
import { normalizeUsername } from "../../core/names.js";
import type { OidcConfig } from "../config.js";
import { httpsFetch } from "./https-fetch.js";
import { LOGIN_FLOW_MINUTES, type LoginFlow } from "./login-flow.js";

/** Where the provider sends the browser back, after publicUrl. */
export const CALLBACK_PATH = "/auth/oidc/callback";

/** Bounds on every exchange with the provider: a slow or huge answer must not hold a login up. */
const PROVIDER_TIMEOUT_SECONDS = 10;
const PROVIDER_MAX_BYTES = 1024 * 1024;

export interface SsoIdentity {
  username: string;
  groups: string[];
  /** A member of one of `adminGroups`: an admin for this session. */
  admin: boolean;
}

/** Why a login did not go through, in words for the person at the browser, and the page's status. */
export interface SsoRefusal {
  refused: string;
  status: number;
}

export interface SingleSignOn {
  /** The provider's authorization URL to send the browser to, and the flow the browser keeps. */
  begin(next: string, now: Date): Promise<{ url: string; flow: LoginFlow } | SsoRefusal>;
  /** Who the provider vouches for in its answer at `callback`, checked against the browser's `flow`. */
  finish(callback: URL, flow: LoginFlow): Promise<SsoIdentity | SsoRefusal>;
}

export async function openSingleSignOn(oidc: OidcConfig, publicUrl: string, configFile: string): Promise<SingleSignOn> {
  let ca: string | undefined;
  if (oidc.ca !== undefined) {
    try {
      ca = await readFile(oidc.ca, "utf8");
    } catch (err) {
      throw new ConfigError(configFile, "auth.oidc.ca", `cannot read the provider's CA ${oidc.ca}: ${(err as Error).message}`);
    }
  }
  const fetch = httpsFetch({ ...(ca === undefined ? {} : { ca }), timeoutMs: PROVIDER_TIMEOUT_SECONDS * 1000, maxBytes: PROVIDER_MAX_BYTES });
  const redirectUri = `${publicUrl}${CALLBACK_PATH}`;

  // Discovered at the first login, not at start: a provider that is down must not keep vgrid from
  // starting (tokens and other logins still work). A failed discovery is tried again next time.
  let discovered: Promise<client.Configuration> | undefined;
  const configuration = (): Promise<client.Configuration> => {
    discovered ??= client
      .discovery(new URL(oidc.issuer), oidc.clientId, { redirect_uris: [redirectUri], response_types: ["code"] }, client.ClientSecretBasic(oidc.clientSecret), {
        [client.customFetch]: fetch,
        timeout: PROVIDER_TIMEOUT_SECONDS,
      })
      .catch((err: unknown) => {
        discovered = undefined;
        throw err;
      });
    return discovered;
  };

  return {
    async begin(next, now) {
      let config: client.Configuration;
      try {
        config = await configuration();
      } catch (err) {
        return { refused: `the single sign-on at ${oidc.issuer} could not be reached: ${reasonOf(err)}. Try again later, or ask an administrator.`, status: 502 };
      }
      const flow: LoginFlow = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        verifier: client.randomPKCECodeVerifier(),
        next,
        expiresAt: now.getTime() + LOGIN_FLOW_MINUTES * 60_000,
      };
      // The groups claim is often behind a scope of its own name (Keycloak, Authentik, Dex...).
      const offered = config.serverMetadata().scopes_supported ?? [];
      const scope = ["openid", "profile", ...(offered.includes(oidc.groupsClaim) ? [oidc.groupsClaim] : [])].join(" ");
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope,
        state: flow.state,
        nonce: flow.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
        code_challenge_method: "S256",
      });
      return { url: url.href, flow };
    },

    async finish(callback, flow) {
      let claims: Record<string, unknown>;
      try {
        const config = await configuration();
        const tokens = await client.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        });
        const id = tokens.claims();
        if (!id) return { refused: "the single sign-on sent no ID token", status: 400 };
        claims = { ...id };
        // Many providers put profile claims in the userinfo answer only, not in the ID token.
        if ((!(oidc.usernameClaim in claims) || !(oidc.groupsClaim in claims)) && config.serverMetadata().userinfo_endpoint !== undefined) {
          claims = { ...(await client.fetchUserInfo(config, tokens.access_token, id.sub)), ...claims };
        }
      } catch (err) {
        return refusalOf(err, oidc.issuer);
      }
      const raw = claims[oidc.usernameClaim];
      if (typeof raw !== "string") {
        return { refused: `the single sign-on sent no '${oidc.usernameClaim}' claim (usernameClaim): ask its administrator to release it to the client '${oidc.clientId}'`, status: 403 };
      }
      let username: string;
      try {
        username = normalizeUsername(raw);
      } catch (err) {
        return { refused: `the single sign-on's ${oidc.usernameClaim}: ${(err as Error).message}`, status: 403 };
      }
      const groups = groupsOf(claims[oidc.groupsClaim]);
      return { username, groups, admin: groups.some((g) => oidc.adminGroups.includes(g)) };
    },
  };
}

/** The groups claim: an array of names (or one name); anything else is no groups. */
function groupsOf(value: unknown): string[] {
  const list = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
  return [...new Set(list.filter((g): g is string => typeof g === "string" && g.length > 0 && g.length <= 256))].slice(0, 1000);
}

/** What went wrong in the provider's answer, for the person who tried to log in. */
function refusalOf(err: unknown, issuer: string): SsoRefusal {
  if (err instanceof client.AuthorizationResponseError) {
    const why = err.error === "access_denied" ? "the login was cancelled or denied at the single sign-on" : `the single sign-on answered '${err.error}'`;
    return { refused: `${why}${err.error_description ? ` (${err.error_description})` : ""}`, status: 403 };
  }
  if (err instanceof client.ResponseBodyError && err.error === "invalid_grant") {
    return { refused: "the single sign-on refused this login's code: it was used already, has expired, or was not made for this browser's login", status: 400 };
  }
  // openid-client says what kind of check failed; its cause says which value.
  const message = reasonOf(err);
  if (message.includes('"state"')) {
    return { refused: "the answer from the single sign-on does not belong to the login this browser started (its state differs)", status: 400 };
  }
  if (message.includes('"nonce"')) {
    return { refused: "the single sign-on's ID token was not made for this login (its nonce differs)", status: 400 };
  }
  if (err instanceof client.ResponseBodyError) {
    return { refused: `the single sign-on refused the login: '${err.error}'${err.error_description ? ` (${err.error_description})` : ""}`, status: 400 };
  }
  if (err instanceof client.ClientError && err.code?.startsWith("OAUTH_") === true) {
    return { refused: `the single sign-on's answer did not pass vgrid's checks: ${message}`, status: 400 };
  }
  return { refused: `the single sign-on at ${issuer} could not be reached: ${reasonOf(err)}. Try again later, or ask an administrator.`, status: 502 };
}

/** An error's message and, for a failed connection, its cause (a TLS or network error says the most). */
function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined;
  return cause === undefined ? message : `${message} (${cause})`;
}
