// One live connection per page, shared by whichever screen is open.

import { createContext, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from "react";
import { browserSocket, EventsClient, pageEventsUrl, type ConnectionStatus } from "./events";
import { LiveStore, type LiveState } from "./store";

const LiveContext = createContext<LiveStore | null>(null);

interface Props {
  children: ReactNode;
  /** Told of each reconnect attempt: the app checks whether the session is still valid. */
  onReconnecting?: (attempt: number) => void;
  onUnauthorized?: () => void;
}

export function LiveProvider({ children, onReconnecting, onUnauthorized }: Props) {
  const store = useMemo(() => new LiveStore(), []);
  useEffect(() => {
    const client = new EventsClient({
      url: pageEventsUrl(window.location),
      connect: browserSocket,
      onMessage: store.handle,
      onStatus: (status: ConnectionStatus, attempt: number) => {
        store.setStatus(status);
        if (status === "reconnecting") onReconnecting?.(attempt);
      },
      onUnauthorized: () => onUnauthorized?.(),
    });
    client.start();
    const online = () => client.reconnectNow();
    const offline = () => client.connectionLost();
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    return () => {
      window.removeEventListener("online", online);
      window.removeEventListener("offline", offline);
      client.stop();
    };
    // The callbacks are stable for the page's life; a new store means a new connection.
  }, [store]);
  return <LiveContext.Provider value={store}>{children}</LiveContext.Provider>;
}

export function useLiveStore(): LiveStore {
  const store = useContext(LiveContext);
  if (!store) throw new Error("useLiveStore outside LiveProvider");
  return store;
}

export function useLive(): LiveState {
  const store = useLiveStore();
  return useSyncExternalStore(store.subscribe, store.getState);
}
