// Who the caller is, their keys and their API tokens; logging out.

import type { CreatedToken, Me, Token } from "../../../src/core/api.ts";
import type { Limits } from "../../../src/portal/rules.ts";
import { getJson, sendJson } from "./client.ts";
import type { Page } from "./vms.ts";

export type MeWithLimits = Me & { limits: Limits };

export const getMe = () => getJson<MeWithLimits>("/me");
export const saveSshKeys = (keys: string[]) => sendJson<{ keys: string[] }>("PUT", "/me/ssh-keys", { keys });
export const listTokens = () => getJson<Page<Token>>("/tokens");
export const createToken = (name: string, expiresInHours: number) => sendJson<CreatedToken>("POST", "/tokens", { name, expiresInHours });
export const revokeToken = (id: string) => sendJson<undefined>("DELETE", `/tokens/${encodeURIComponent(id)}`);
export const logOut = () => sendJson<undefined>("POST", "/auth/logout");
