/** The logging the core needs; handlers bind it to their InvocationContext. Never pass secrets to it. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export const loggerOf = (context: { log(...args: unknown[]): void; warn(...args: unknown[]): void; error(...args: unknown[]): void }): Logger => ({
  info: (message) => context.log(message),
  warn: (message) => context.warn(message),
  error: (message) => context.error(message),
});
