// Lazy submodules for prebuilt CDKTF providers, inside the jsii kernel (node).
//
// infra/fast_imports.py preloads this file into the node process that runs the jsii kernel
// (NODE_OPTIONS=--require). Why: the kernel `require`s a provider package's lib/index.js when
// Python loads the assembly, and that index eagerly requires every one of its ~2,100
// submodules (~240 MB of JavaScript for hashicorp/aws): about 3 s of compiling and 400 MB of
// memory, of which a synthesis uses 2%. Here the index is not run; each of its exports
// becomes a getter that requires its submodule on first use, which is exactly when the kernel
// looks up a type of that submodule (`closure.s3Bucket.S3Bucket`). The objects, and so the
// synthesized JSON, are the same; tests/test_fast_imports.py compares both ways byte for byte.
//
// Only an index of exactly the generated shape is made lazy: comments, "use strict", the
// __esModule marker, `exports.a = exports.b = ... = void 0;` and `exports.x = require("./x");`,
// with the same names in both. Anything else compiles as usual (slow, never wrong).
"use strict";

const Module = require("module");

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
  }
  return compile.call(this, content, filename);
};
