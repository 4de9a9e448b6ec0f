/** The one check every task network runs on the feature taps a recipe asks for (SR4IR's TDP loss, inspect). */
import { check } from "../errors.js";

/** Throws E_CONFIG naming every requested tap the network lacks, and the ones it has. */
export function checkTaps(network: string, taps: readonly string[], tapNames: readonly string[]): void {
  const unknown = taps.filter((t) => !tapNames.includes(t));
  check(
    unknown.length === 0,
    () => `${network} has no tap ${unknown.map((t) => `"${t}"`).join(", ")}; taps: ${tapNames.join(", ")}`,
    "E_CONFIG",
  );
}
