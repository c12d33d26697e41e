/** What a command may touch of the process: output streams and the environment. */
export interface CommandIO {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /** True when stdout is a terminal (progress bars, live status). */
  isTTY: boolean;
  /** True when stderr is a terminal (the live status line of `floe run`); default `isTTY`. */
  stderrIsTTY?: boolean;
}
