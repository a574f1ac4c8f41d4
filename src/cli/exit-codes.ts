/** Exit codes of the `pipeline` CLI. */
export const EXIT_OK = 0;
/** A command ran and failed (bad input file, model error, ...). */
export const EXIT_FAILURE = 1;
/** The command line itself was wrong: unknown command or flag, missing argument. */
export const EXIT_USAGE = 2;
/** A gate in the pipeline file stopped the run (stored as 'stopped'); not a failure of the tool. */
export const EXIT_GATE_STOP = 3;
/** The run waits for people: an audit stage with require_complete has unlabelled pairs. */
export const EXIT_AWAITING_AUDIT = 4;
