// The server's event stream, opened once for the whole portal: each VM change goes into the cache, and
// the pages that show that VM re-render. No page polls. After a gap (the stream reconnects after its
// lifetime, or after the network was away) the lists are read again, for what the gap hid.

import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { Vm } from "../../../src/core/api.ts";
import { getMe } from "../api/me.ts";
import { keys } from "./keys.ts";
import { storeVm } from "./vms.ts";

export type StreamState = "connecting" | "live" | "reconnecting";

export function useVmEvents(me: string | undefined): StreamState {
  const client = useQueryClient();
  const [state, setState] = useState<StreamState>("connecting");
  useEffect(() => {
    if (me === undefined) return;
    let source: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let opened = false;
    const open = () => {
      source = new EventSource("/api/v1/events");
      source.onopen = () => {
        setState("live");
        // What a gap hid: every list, every VM shown, and the quota.
        if (opened) {
          void client.invalidateQueries({ queryKey: keys.vmLists });
          void client.invalidateQueries({ queryKey: ["vm"] });
          void client.invalidateQueries({ queryKey: keys.me });
        }
        opened = true;
      };
      source.addEventListener("vm", (event: MessageEvent<string>) => {
        const vm = JSON.parse(event.data) as Vm;
        storeVm(client, vm);
        if (vm.owner === me) void client.invalidateQueries({ queryKey: keys.me });
        void client.invalidateQueries({ queryKey: keys.vmHistory(vm.id) });
        void client.invalidateQueries({ queryKey: keys.vmLog(vm.id) });
      });
      source.onerror = () => {
        setState("reconnecting");
        // EventSource retries by itself after a dropped stream; a refused one (401: the session ended)
        // it gives up on: then ask who we are, which sends the person to the login if no one.
        if (source?.readyState === EventSource.CLOSED) {
          void getMe().catch(() => undefined);
          retry = setTimeout(open, 5000);
        }
      };
    };
    open();
    return () => {
      clearTimeout(retry);
      source?.close();
    };
  }, [client, me]);
  return state;
}
