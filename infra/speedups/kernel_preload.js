// Preloaded into the node process that runs the jsii kernel (NODE_OPTIONS=--require, set by
// infra/speedups/kernel_preload.py before the kernel starts, as speed-up kernel_lazy_index).
// The synthesized JSON is the same without it, which tests/test_speedups.py checks byte for
// byte. An index not of the expected shape prints one line to stderr
// (`speedups: kernel_lazy_index off: ...`) and runs as it is.
//
// Tried and removed: replacing cdktf's per-token captureStackTrace (lib/tokens/private/
// stack-trace.js) by a marker. It saved 1-6% of the default app's synthesis, below the 10%
// a speed-up must earn to stay (README, "Synthesis speed").
"use strict";

const Module = require("module");

function off(name, why) {
  process.stderr.write(`speedups: ${name} off: ${why}\n`);
}

// Lazy provider submodules.
//
// The kernel `require`s a prebuilt provider's lib/index.js when Python loads the assembly,
// and that index eagerly requires every one of its submodules: ~2,100 files, ~240 MB of
// JavaScript for hashicorp/aws, about 3.5 s of compiling and 400 MB of memory, of which a
// synthesis uses 2%. Here the index is not run; each export becomes a getter that requires
// its submodule on first use, which is when the kernel looks up one of its types
// (`closure.s3Bucket.S3Bucket`). Only an index of exactly the generated shape is made lazy:
// comments, "use strict", the __esModule marker, `exports.a = exports.b = ... = void 0;`
// and `exports.x = require("./x");`, with the same names in both. Anything else compiles
// as usual (slow, never wrong) and says so.
const PROVIDER_INDEX = /[\\/]@cdktf[\\/]provider-[^\\/]+[\\/](?:[^\\/]+[\\/])*lib[\\/]index\.js$/;
const REQUIRE_LINE = /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w.-]+)"\);$/;
const DECLARE_LINE = /^exports\.[A-Za-z_$][\w$]*(?: = exports\.[A-Za-z_$][\w$]*)* = void 0;$/;
const DECLARED_NAME = /exports\.([A-Za-z_$][\w$]*)/g;
const INERT_LINE = /^(?:"use strict";|\/\*\*|\s*\*.*|\s*\*\/|\/\/.*|Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);|)$/;

// name -> relative path, or null when the source is not exactly the generated shape.
function lazyExports(source) {
  const required = new Map();
  const declared = new Set();
  for (const line of source.split("\n")) {
    const match = REQUIRE_LINE.exec(line);
    if (match) {
      required.set(match[1], match[2]);
    } else if (DECLARE_LINE.test(line)) {
      for (const name of line.matchAll(DECLARED_NAME)) declared.add(name[1]);
    } else if (!INERT_LINE.test(line)) {
      return null;
    }
  }
  if (required.size === 0 || declared.size !== required.size) return null;
  for (const name of declared) if (!required.has(name)) return null;
  return required;
}

function defineLazy(module, name, relative) {
  const settle = (value) => {
    Object.defineProperty(module.exports, name, { value, enumerable: true, writable: true, configurable: true });
    return value;
  };
  Object.defineProperty(module.exports, name, {
    enumerable: true,
    configurable: true,
    get: () => settle(module.require(relative)),
    set: settle,
  });
}

const compile = Module.prototype._compile;
Module.prototype._compile = function compileLazily(content, filename) {
  if (PROVIDER_INDEX.test(filename)) {
    const exports = lazyExports(content);
    if (exports !== null) {
      Object.defineProperty(this.exports, "__esModule", { value: true });
      for (const [name, relative] of exports) defineLazy(this, name, relative);
      return undefined;
    }
    off("kernel_lazy_index", `${filename} is not of the generated shape; compiled as it is`);
  }
  return compile.call(this, content, filename);
};

module.exports = { lazyExports };
