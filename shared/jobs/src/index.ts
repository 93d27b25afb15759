/**
 * @taskjet/jobs: job types declared once (`defineJob`) and shared by producers (@taskjet/client) and
 * workers (@taskjet/worker-runtime).
 */
export {
  defineJob,
  isDefinedJob,
  jobInputOf,
  type ArgsOf,
  type ArgsSchema,
  type DefinedJob,
  type JobDefaults,
  type ParsedArgsOf,
} from "./defineJob.js";
