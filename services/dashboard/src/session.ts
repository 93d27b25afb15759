/** The signed-in session (role and tenant), shared with every page through a context. */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Session } from "./types";

export const SessionContext = createContext<Session>({ role: "read", tenant: "default" });

export const useSession = () => useContext(SessionContext);

/** True when this token may change things: pages show no action buttons otherwise. */
export const useCanAct = () => useSession().role === "full";
