/**
 * A static server for the in-browser page on localhost: the bundled page (web/dist), onnxruntime-web's .wasm files
 * (/ort/, from node_modules) and the site's data folder (/data/). It sends the cross-origin isolation headers
 * (COOP/COEP) that multi-threaded WASM needs (SharedArrayBuffer), and refuses paths outside its folders.
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { TasksrError } from "../errors.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".onnx": "application/octet-stream",
  ".png": "image/png",
  ".map": "application/json",
};

/** The bundled page, built by scripts/build-web.mjs (the setup script runs it). */
export const WEB_DIST = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "web", "dist");

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

export async function serveWeb(o: { data: string; port?: number; host?: string }): Promise<WebServer> {
  if (!existsSync(join(WEB_DIST, "main.js"))) {
    throw new TasksrError(
      "E_NATIVE_MISSING",
      `the web page is not built (${WEB_DIST}); run node scripts/build-web.mjs`,
    );
  }
  // The package exports its .wasm files by name (not its package.json): their folder is dist/.
  const ortDist = dirname(createRequire(import.meta.url).resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"));
  const roots: [string, string][] = [
    ["/ort/", ortDist],
    ["/data/", o.data],
    ["/", WEB_DIST],
  ];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (path === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    const [prefix, root] = roots.find(([p]) => path.startsWith(p))!;
    const rel = path.slice(prefix.length) || "index.html";
    const file = normalize(join(root, rel));
    const headers = {
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cross-Origin-Resource-Policy": "same-origin",
      "Cache-Control": "no-store",
    };
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { ...headers, "Content-Type": "text/plain" }).end(`not found: ${path}\n`);
      return;
    }
    res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  const host = o.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new TasksrError("E_CLI_ARG", `cannot listen on ${host}:${o.port ?? 0}: ${err.code ?? err.message}`)),
    );
    server.listen(o.port ?? 0, host, resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : o.port;
  return {
    url: `http://${host}:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
