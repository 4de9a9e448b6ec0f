// Parity with PyTorch for autograd itself: backward with explicit gradients, torch.autograd.grad with create_graph
// (second order, including double backward through conv2d), retain_graph, detach, no_grad, several roots,
// retain_grad and gradient accumulation. Float32 results within 1e-5 relative / 1e-6 absolute.
import { backward, F, grad, noGrad, type Tensor, tensor } from "../../src/engine/index.js";
import { parityTests } from "../support/parity.js";

const leaf = (t: Tensor | undefined): Tensor => t!.requiresGrad_();

parityTests("autograd", {
  backwardWithGradient: ({ x, w, g }) => {
    const [xl, wl] = [leaf(x), leaf(w)];
    const y = xl.mul(wl).sin();
    y.backward(g);
    return [y.detach(), xl.grad!, wl.grad!];
  },
  secondOrderPow: ({ x, v }) => {
    const xl = leaf(x);
    const [g] = grad(xl.pow(3).sum(), [xl], { createGraph: true });
    const [h] = grad(g!.mul(v!).sum(), [xl]);
    return [g!.detach(), h!];
  },
  gradientPenalty: ({ x, w }) => {
    const [xl, wl] = [leaf(x), leaf(w)];
    const loss = F.conv2d(xl, wl, undefined, { padding: 1 }).tanh().pow(2).mean();
    const [gw] = grad(loss, [wl], { createGraph: true });
    const [gx2, gw2] = grad(gw!.pow(2).sum(), [xl, wl]);
    return [gw!.detach(), gx2!, gw2!];
  },
  retainGraph: ({ x }) => {
    const xl = leaf(x);
    const y = xl.mul(xl).sum().mul(1.5);
    y.backward(undefined, { retainGraph: true });
    const first = xl.grad!.clone();
    y.backward();
    return [first, xl.grad!];
  },
  detach: ({ x }) => {
    const xl = leaf(x);
    const y = xl.exp().mul(xl.detach()).sum();
    y.backward();
    return [y.detach(), xl.grad!];
  },
  noGrad: ({ x }) => {
    const xl = leaf(x);
    const y = noGrad(() => xl.mul(2));
    const z = y.mul(xl).sum();
    z.backward();
    return [y, xl.grad!, tensor([y.requiresGrad, z.requiresGrad])];
  },
  multiRootBackward: ({ x, g1, g2 }) => {
    const xl = leaf(x);
    backward([xl.sin(), xl.mul(xl)], [g1!, g2!]);
    return [xl.grad!];
  },
  retainGradIntermediate: ({ x }) => {
    const xl = leaf(x);
    const h = xl.mul(2).retainGrad();
    h.sin().sum().backward();
    return [h.grad!, xl.grad!];
  },
  accumulate: ({ x }) => {
    const xl = leaf(x);
    xl.pow(2).sum().backward();
    xl.exp().sum().backward();
    return [xl.grad!];
  },
});
