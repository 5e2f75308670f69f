/** `@cosell/cli`: the `cosell` command as a library (tests run it in-process through `runCli`). */
export * from "./config.js";
export * from "./config-file.js";
export { CommandContext, EXIT } from "./context.js";
export * from "./crm-modules.js";
export { type AnySandbox, DEMO_CRMS, DEMO_SOLUTION, type DemoCrm, replaceDemoCrm } from "./demo/crms.js";
export { type CrmDemoReport, type DemoReport, renderDemo } from "./demo/report.js";
export { runDemo } from "./demo/run.js";
export { pickReadyToShare } from "./demo/scenario.js";
export * from "./io.js";
export * from "./logger.js";
export { buildProgram, runCli } from "./program.js";
export * from "./secrets.js";
