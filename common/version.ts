// The version --version prints: package.json's, imported so that `bun build --compile` embeds it
// (a compiled binary has no package.json beside it) and `deno run` reads it as a JSON module.
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
