// The order test files start in. Vitest starts the largest files first when it has no timings (a
// fresh clone: CI), so the two tests that each run all 22 services twice over (44 instances, one of
// them beside a 5-node cluster) could start together late in the run and share 2 cores: CI saw a
// deploy of one time out while the other ran. The game days go first, the full-fleet deploy last,
// everything else in vitest's order between them, on the other worker.
import { BaseSequencer, type TestSpecification } from "vitest/node";

const FIRST = ["src/commands/deploy.game-days.test.ts"];
const LAST = ["src/commands/deploy.local-fleet.test.ts"];

const rank = (spec: TestSpecification) => {
  const id = spec.moduleId.replaceAll("\\", "/");
  if (FIRST.some((f) => id.endsWith(f))) return -1;
  return LAST.some((f) => id.endsWith(f)) ? 1 : 0;
};

export class FleetSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
