/**
 * The cost parameters in force on a machine. The machine holds them as a
 * typed field (lib/platform/machine.ts `costs`, loaded on first use from its
 * profile's data/costs/<id>.json, all zero without one); the DMA code reads
 * them through {@link machineCosts} without importing the Machine class.
 */
import { ZERO_COSTS, costValues, loadCosts, type CostValues } from "./schema.js";

/** What the cost lookup needs of a machine: its cost values (ns per unit). */
export interface CostHost {
  readonly costs: CostValues;
}

/** The cost parameters in force on a machine (ns values). */
export function machineCosts(machine: CostHost): CostValues {
  return machine.costs;
}

/**
 * The cost values of a profile's cost file id, or {@link ZERO_COSTS} when the
 * profile names none.
 * @throws ModelConfigError / ZodError for a missing or invalid cost file (lib/cost/schema.ts loadCosts).
 */
export function costsForProfile(costsId: string | undefined): CostValues {
  return costsId ? costValues(loadCosts(costsId)) : ZERO_COSTS;
}
