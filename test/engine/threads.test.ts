import assert from "node:assert/strict";
import { test } from "node:test";
import { blasThreads, getNumThreads, setNumThreads } from "../../src/engine/index.js";

const openblas = blasThreads() !== -1;

test(
  "OpenBLAS runs one thread by default and blasThreads sets it",
  { skip: !openblas && "libtorch does not use OpenBLAS here" },
  () => {
    if (process.env.OPENBLAS_NUM_THREADS === undefined) assert.equal(blasThreads(), 1);
    const before = blasThreads();
    try {
      assert.equal(blasThreads(2), 2);
      assert.equal(blasThreads(), 2);
    } finally {
      blasThreads(before);
    }
    assert.equal(blasThreads(), before);
    assert.throws(() => blasThreads(0), /BLAS thread count must be >= 1/);
  },
);

test("setNumThreads leaves the BLAS pool alone", () => {
  const [threads, blas] = [getNumThreads(), blasThreads()];
  try {
    setNumThreads(1);
    assert.equal(getNumThreads(), 1);
    assert.equal(blasThreads(), blas);
  } finally {
    setNumThreads(threads);
  }
});
