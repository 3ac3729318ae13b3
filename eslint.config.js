// ESLint (flat config) for the map page's script: the ES modules under src/songmap/web/static/src/
// (bundled by esbuild into static/map.js, which is generated and not linted) and their node tests.
// Run by `make lint-js`.
import js from "@eslint/js";
import globals from "globals";

const rules = {
  "no-var": "error",
  "prefer-const": "error",
  "eqeqeq": ["error", "always"],
  "no-shadow": "error",
  "no-use-before-define": ["error", { functions: false, classes: true, variables: true }],
};

export default [
  { ignores: ["src/songmap/web/static/map.js"] },
  js.configs.recommended,
  {
    files: ["src/songmap/web/static/src/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules,
  },
  {
    files: ["tests/js/**/*.mjs", "scripts/*.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules,
  },
];
