import { join } from "node:path";

/** Repository root (tests run from dist/test/...). */
export const REPO = join(import.meta.dirname, "..", "..", "..");
/** Shared real data every developer and CI has next to the repository (../shared/data). */
export const SHARED_DATA = join(REPO, "..", "shared", "data");
/** Committed fixtures produced by tools/fixtures/*.py. */
export const FIXTURES = join(REPO, "test", "fixtures");
