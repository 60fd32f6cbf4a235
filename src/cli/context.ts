/** What a command is handed: its streams and environment, so commands are testable in-process. */
export interface CommandContext {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  /** Resolves when the user asks the command to stop (Ctrl-C / SIGTERM). */
  readonly stopSignal: AbortSignal;
}
