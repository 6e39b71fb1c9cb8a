// The caller, their keys and tokens.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { createToken, getMe, listTokens, revokeToken, saveSshKeys } from "../api/me.ts";
import { keys } from "./keys.ts";

export function useMe() {
  return useQuery({ queryKey: keys.me, queryFn: getMe, staleTime: 30_000 });
}

export function useSaveSshKeys() {
  const client = useQueryClient();
  return useMutation({ mutationFn: saveSshKeys, onSuccess: () => client.invalidateQueries({ queryKey: keys.me }) });
}

export function useTokens() {
  return useQuery({ queryKey: keys.tokens, queryFn: listTokens });
}

export function useCreateToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ name, hours }: { name: string; hours: number }) => createToken(name, hours),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.tokens }),
  });
}

export function useRevokeToken() {
  const client = useQueryClient();
  return useMutation({ mutationFn: revokeToken, onSuccess: () => client.invalidateQueries({ queryKey: keys.tokens }) });
}
