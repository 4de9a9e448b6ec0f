// Parity with PyTorch for tensor creation and random sampling. Creation results and every random sample must be
// bit-exact: the engine runs the same libtorch kernels and CPU generator (mt19937) as torch for the same seed.
import {
  arange,
  bernoulli,
  type DType,
  eye,
  full,
  Generator,
  getRngStates,
  linspace,
  manualSeed,
  multinomial,
  rand,
  randint,
  randn,
  randperm,
  setRngStates,
  type Tensor,
  tensor,
  zeros,
} from "../../src/engine/index.js";
import { type Inputs, parityTests } from "../support/parity.js";

parityTests("creation", {
  arange: (_, a: { start: number; end: number; step: number; dtype?: DType }) =>
    arange(a.start, a.end, a.step, { dtype: a.dtype }),
  linspace: (_, a: { start: number; end: number; steps: number; dtype?: DType }) =>
    linspace(a.start, a.end, a.steps, { dtype: a.dtype }),
  eye: (_, a: { n: number; m: number }) => eye(a.n, a.m),
  full: (_, a: { shape: number[]; value: number | boolean; dtype: DType }) =>
    full(a.shape, a.value, { dtype: a.dtype }),
  tensor: (_, a: { data: number[] | number[][]; dtype: DType }) => tensor(a.data, { dtype: a.dtype }),
});

interface Draw {
  fn: string;
  shape: number[];
  dtype?: DType;
  low: number;
  high: number;
  n: number;
  probs: string;
  p: number;
  mean: number;
  std: number;
  from: number;
  to: number;
  replacement: boolean;
}
interface Seeded {
  generator: "global" | "constructor" | "manualSeed";
  seed: number;
}

/** The global generator (seeded; undefined selects it) or a private one seeded through the constructor or manualSeed. */
function generatorFor(a: Seeded): Generator | undefined {
  if (a.generator === "global") {
    manualSeed(a.seed);
    return undefined;
  }
  return a.generator === "constructor" ? new Generator(a.seed) : new Generator().manualSeed(a.seed);
}

function draw(d: Draw, generator: Generator | undefined, inputs: Inputs): Tensor {
  switch (d.fn) {
    case "rand":
      return rand(d.shape, { dtype: d.dtype, generator });
    case "randn":
      return randn(d.shape, { dtype: d.dtype, generator });
    case "randint":
      return randint(d.low, d.high, d.shape, { generator });
    case "randperm":
      return randperm(d.n, { generator });
    case "bernoulli":
      return bernoulli(inputs[d.probs]!, { generator });
    case "bernoulli_":
      return zeros(d.shape).bernoulli_(d.p, generator);
    case "normal_":
      return zeros(d.shape).normal_(d.mean, d.std, generator);
    case "uniform_":
      return zeros(d.shape).uniform_(d.from, d.to, generator);
    case "multinomial":
      return multinomial(inputs[d.probs]!, d.n, d.replacement, { generator });
    default:
      throw new Error(`unknown draw ${d.fn}`);
  }
}

parityTests("random", {
  random: (inputs, a: Seeded & { draws: Draw[] }) => {
    const g = generatorFor(a);
    return a.draws.map((d) => draw(d, g, inputs));
  },
  generatorState: (_, a: Seeded) => {
    const g = generatorFor(a);
    rand([3], { generator: g });
    const state = g === undefined ? getRngStates()[0]! : g.getState();
    const first = randn([5], { generator: g });
    if (g === undefined) setRngStates([state]);
    else g.setState(state);
    const second = randn([5], { generator: g });
    return [state, first, second];
  },
});
