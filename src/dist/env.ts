/**
 * The launcher contract of torchrun (and of SLURM/Kubernetes wrappers that follow it): every worker finds its place
 * in the job in RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE and the rendezvous in MASTER_ADDR:MASTER_PORT.
 */
import { TasksrError } from "../errors.js";

export interface DistEnv {
  rank: number;
  world: number;
  localRank: number;
  localWorld: number;
  addr: string;
  port: number;
  /** torchrun's agent hosts the TCPStore (TORCHELASTIC_USE_AGENT_STORE=True): rank 0 connects as a client. */
  agentStore: boolean;
}

/** The torchrun environment, or undefined when WORLD_SIZE is unset (a one-process run). */
export function distEnvFrom(env: NodeJS.ProcessEnv = process.env): DistEnv | undefined {
  if (env.WORLD_SIZE === undefined) return undefined;
  const int = (name: string, min: number, max: number, fallback?: number): number => {
    const raw = env[name];
    if (raw === undefined) {
      if (fallback !== undefined) return fallback;
      throw new TasksrError(
        "E_DIST",
        `${name} is not set; a distributed worker needs RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT`,
      );
    }
    const v = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || v < min || v > max) {
      throw new TasksrError("E_DIST", `${name}=${JSON.stringify(raw)}: expected an integer in [${min}, ${max}]`);
    }
    return v;
  };
  const world = int("WORLD_SIZE", 1, 1 << 20);
  const rank = int("RANK", 0, world - 1);
  const localWorld = int("LOCAL_WORLD_SIZE", 1, world, world === 1 ? 1 : undefined);
  const localRank = int("LOCAL_RANK", 0, localWorld - 1, localWorld === 1 ? 0 : undefined);
  const addr = env.MASTER_ADDR?.trim();
  if (!addr) throw new TasksrError("E_DIST", "MASTER_ADDR is not set; it names the host of rank 0 (the rendezvous)");
  const port = int("MASTER_PORT", 1, 65535);
  const agentStore = (env.TORCHELASTIC_USE_AGENT_STORE ?? "").toLowerCase() === "true";
  return { rank, world, localRank, localWorld, addr, port, agentStore };
}
