#!/usr/bin/env node
// Locates a libtorch to build the native addon against, in the documented order:
//   1. $LIBTORCH            (an unpacked libtorch folder: include/, lib/)
//   2. a Python torch install (the folder of `import torch`, as pip wheels ship include/ and lib/)
//   3. the system           (Debian/Ubuntu `libtorch-dev`: /usr/include + /usr/lib/<multiarch>)
// Used by binding.gyp (`--print includes|libs|defines|rpath`) and by build-native.mjs / doctor (`--json`).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function multiarch() {
  try {
    return execFileSync("gcc", ["-print-multiarch"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return `${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu`;
  }
}

function layoutAt(root, source) {
  const inc = join(root, "include");
  const lib = join(root, "lib");
  if (!existsSync(join(inc, "ATen", "ATen.h")) || !existsSync(join(lib, "libtorch.so"))) return undefined;
  return { source, root, includes: [inc, join(inc, "torch", "csrc", "api", "include")], libDir: lib };
}

function fromEnv() {
  const root = process.env.LIBTORCH;
  if (!root) return { found: undefined, tried: "$LIBTORCH is not set" };
  const found = layoutAt(root, "$LIBTORCH");
  return { found, tried: `$LIBTORCH=${root} (no include/ATen/ATen.h + lib/libtorch.so there)` };
}

function fromPython() {
  for (const py of ["python3", "python"]) {
    let dir;
    try {
      dir = execFileSync(py, ["-c", "import torch,os;print(os.path.dirname(torch.__file__))"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {
      continue;
    }
    const found = layoutAt(dir, `python (${py})`);
    if (found) {
      try {
        const abi = execFileSync(py, ["-c", "import torch;print(int(torch._C._GLIBCXX_USE_CXX11_ABI))"], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
        }).trim();
        found.cxx11Abi = abi === "1";
      } catch {
        // Older wheels lack the flag; fall back to the symbol check below.
      }
      return { found, tried: `${py}: torch at ${dir}` };
    }
    return { found: undefined, tried: `${py}: torch at ${dir} has no C++ headers/libs (a distro build)` };
  }
  return { found: undefined, tried: "no Python with torch on PATH" };
}

function fromSystem() {
  const libDir = join("/usr/lib", multiarch());
  if (!existsSync("/usr/include/ATen/ATen.h") || !existsSync(join(libDir, "libtorch.so"))) {
    return { found: undefined, tried: `system: /usr/include/ATen/ATen.h or ${libDir}/libtorch.so missing` };
  }
  return {
    found: {
      source: "system",
      root: "/usr",
      includes: ["/usr/include", "/usr/include/torch/csrc/api/include"],
      libDir,
    },
    tried: "system",
  };
}

function version(found) {
  const vh = found.includes.map((i) => join(i, "torch", "version.h")).find((p) => existsSync(p));
  if (vh) {
    const m = /TORCH_VERSION\s+"([^"]+)"/.exec(readFileSync(vh, "utf8"));
    if (m) return m[1];
  }
  const vpy = join(found.root, "version.py");
  if (existsSync(vpy)) {
    const m = /__version__\s*=\s*'([^']+)'/.exec(readFileSync(vpy, "utf8"));
    if (m) return m[1];
  }
  const real = realpathSync(join(found.libDir, "libtorch.so"));
  const m = /libtorch\.so\.(.+)$/.exec(real);
  return m ? m[1] : "unknown";
}

/**
 * c10d with Gloo (distributed training): libtorch's c10d headers and Gloo's own headers (Debian: libgloo-dev; a pip
 * wheel ships them in include/). `linkGloo` says whether the addon links libgloo itself (the system's shared library)
 * or finds Gloo inside libtorch_cpu (a wheel links it in). native/src/distributed.cc is written against c10d of
 * libtorch 1.x, where ProcessGroupGloo is a ProcessGroup; in 2.x it is a Backend behind a ProcessGroup, so a 2.x
 * libtorch builds the addon without distributed training (distAvailable() false, the distributed tests skip) until
 * that port is made.
 */
function distributed(found) {
  if (!found.version.startsWith("1.")) return { ok: false, linkGloo: false };
  const c10d = found.includes.some((i) =>
    existsSync(join(i, "torch", "csrc", "distributed", "c10d", "ProcessGroupGloo.hpp")),
  );
  const glooDir = [...found.includes, "/usr/include"].find((i) => existsSync(join(i, "gloo", "algorithm.h")));
  if (!c10d || glooDir === undefined) return { ok: false, linkGloo: false };
  return { ok: true, linkGloo: found.source === "system" };
}

export function findLibtorch() {
  const tried = [];
  for (const probe of [fromEnv, fromPython, fromSystem]) {
    const { found, tried: t } = probe();
    tried.push(t);
    if (!found) continue;
    found.cuda = existsSync(join(found.libDir, "libtorch_cuda.so"));
    if (found.cxx11Abi === undefined) {
      // A libc10 built with the new ABI exports std::__cxx11 symbols.
      found.cxx11Abi = readFileSync(join(found.libDir, "libc10.so")).includes("__cxx11");
    }
    found.version = version(found);
    found.distributed = distributed(found);
    return { ok: true, ...found, tried };
  }
  return { ok: false, tried };
}

function gypPrint(what, info) {
  if (!info.ok) {
    process.stderr.write(
      `tasksr: libtorch not found (${info.tried.join("; ")}). Install it (Debian/Ubuntu: sudo apt-get install libtorch-dev), or set LIBTORCH to an unpacked libtorch folder.\n`,
    );
    process.exit(1);
  }
  switch (what) {
    case "includes":
      return info.includes.join(" ");
    case "libs": {
      const core = ["-ltorch_cpu", "-lc10"];
      // --no-as-needed: libtorch_cuda registers its kernels from static initialisers; the linker would drop it.
      const cuda = info.cuda
        ? ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-ltorch", "-Wl,--as-needed"]
        : ["-ltorch"];
      const gloo = info.distributed.linkGloo ? ["-lgloo"] : [];
      return [`-L${info.libDir}`, `-Wl,-rpath,${info.libDir}`, ...cuda, ...core, ...gloo].join(" ");
    }
    case "defines": {
      const [major, minor] = info.version.split(".").map((x) => Number.parseInt(x, 10) || 0);
      return [
        `TASKSR_CUDA=${info.cuda ? 1 : 0}`,
        `TASKSR_TORCH_MAJOR=${major}`,
        `TASKSR_TORCH_MINOR=${minor}`,
        `_GLIBCXX_USE_CXX11_ABI=${info.cxx11Abi ? 1 : 0}`,
        `TASKSR_DIST=${info.distributed.ok ? 1 : 0}`,
        ...(info.distributed.ok ? ["USE_DISTRIBUTED", "USE_C10D_GLOO"] : []),
      ].join(" ");
    }
    default:
      throw new Error(`find-libtorch: unknown --print ${what}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const info = findLibtorch();
  const i = process.argv.indexOf("--print");
  if (i >= 0) {
    process.stdout.write(gypPrint(process.argv[i + 1], info));
  } else {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    if (!info.ok) process.exit(1);
  }
}

export const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
