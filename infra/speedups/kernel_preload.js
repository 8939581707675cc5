// Preloaded into the node process that runs the jsii kernel (NODE_OPTIONS=--require, set by
// infra/speedups/kernel_preload.py before the kernel starts). Two things a Python synthesis
// pays for and never uses, each applied only when PLATFORM_SPEEDUPS_KERNEL (set by the same
// file) names it: "lazy_index" (speed-up kernel_lazy_index) and "no_token_stacks"
// (kernel_no_stacks). The synthesized JSON is the same without them, which
// tests/test_speedups.py checks byte for byte. Where a file has not the shape a part
// expects, that part prints one line to stderr (`speedups: <name> off: ...`) and the file
// runs as it is.
"use strict";

const Module = require("module");

const PARTS = new Set((process.env.PLATFORM_SPEEDUPS_KERNEL || "").split(",").filter(Boolean));

function off(name, why) {
  process.stderr.write(`speedups: ${name} off: ${why}\n`);
}

// 1. Lazy provider submodules.
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

// 2. No creation stacks for tokens.
//
// cdktf records a full JavaScript stack trace (Error.stackTraceLimit = MAX_SAFE_INTEGER,
// then formatted) for every token, reference and complex attribute it creates: ~15% of the
// kernel's time in a synthesis. The trace is only ever shown in an error about a token that
// cannot be resolved, and in a jsii kernel it holds nothing but kernel frames: the Python
// code that made the object is in another process. The marker says so where it would show.
const CDKTF_STACK_TRACE = /[\\/]cdktf[\\/](?:[^\\/]+[\\/])*lib[\\/]tokens[\\/]private[\\/]stack-trace\.js$/;
// cdktf's index requires the tokens, so once it has run, the stack-trace module has been seen.
const CDKTF_INDEX = /[\\/]cdktf[\\/]lib[\\/]index\.js$/;
let stacksSeen = false;
const NO_STACK = Object.freeze(["(creation stack not recorded: the object was made from Python through jsii)"]);

const compile = Module.prototype._compile;
Module.prototype._compile = function compileForSynthesis(content, filename) {
  if (PARTS.has("lazy_index") && PROVIDER_INDEX.test(filename)) {
    const exports = lazyExports(content);
    if (exports !== null) {
      Object.defineProperty(this.exports, "__esModule", { value: true });
      for (const [name, relative] of exports) defineLazy(this, name, relative);
      return undefined;
    }
    off("kernel_lazy_index", `${filename} is not of the generated shape; compiled as it is`);
  }
  const result = compile.call(this, content, filename);
  if (PARTS.has("no_token_stacks")) {
    if (CDKTF_STACK_TRACE.test(filename)) {
      stacksSeen = true;
      if (typeof this.exports.captureStackTrace === "function") {
        this.exports.captureStackTrace = () => NO_STACK;
      } else {
        off("kernel_no_stacks", `${filename} exports no captureStackTrace function`);
      }
    } else if (CDKTF_INDEX.test(filename) && !stacksSeen) {
      off("kernel_no_stacks", "cdktf loaded no lib/tokens/private/stack-trace.js");
      stacksSeen = true; // said once
    }
  }
  return result;
};

module.exports = { lazyExports };
