/** The taskjet CLI as a library (the executable is dist/main.js). */
export { run, buildProgram, VERSION } from "./program.js";
export { CommandContext } from "./context.js";
export { ExitCode, exitCodeOf, errorLine } from "./errors.js";
export { resolveCliConfig, type CliConfig, type GlobalFlags } from "./config.js";
export { startDevNatsServer, type DevNatsServer } from "./natsServer.js";
