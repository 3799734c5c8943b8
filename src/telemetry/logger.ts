/** The logging the core needs; handlers bind it to their InvocationContext. Never pass secrets to it. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** For work that outlives the invocation that started it: the process's console, which the host collects as the worker's log. */
export const processLogger: Logger = {
  info: (message) => console.log(message),
  warn: (message) => console.warn(message),
  error: (message) => console.error(message),
};

export const loggerOf = (context: { log(...args: unknown[]): void; warn(...args: unknown[]): void; error(...args: unknown[]): void }): Logger => ({
  info: (message) => context.log(message),
  warn: (message) => context.warn(message),
  error: (message) => context.error(message),
});
