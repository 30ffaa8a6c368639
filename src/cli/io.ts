// Where the commands write: stdout for results, stderr for notes and errors. A parameter so that
// the commands can run in-process (tests, embedding) as well as from bin/main.

export interface Io {
  /** a line (or lines) of results, to stdout */
  out(text: string): void;
  /** a line (or lines) of diagnostics, to stderr */
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => { process.stdout.write(`${text}\n`); },
  err: (text) => { process.stderr.write(`${text}\n`); },
};
