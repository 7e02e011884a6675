// JSON logs through winston. One logger is made in cmd/main.ts and passed down; parts add context with child().
import winston from 'winston';

export type Logger = winston.Logger;
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Defaults to stderr, so stdout stays free for command output. */
  readonly stream?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return winston.createLogger({
    level: options.level,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: false }),
      winston.format.json(),
    ),
    transports: [
      options.stream
        ? new winston.transports.Stream({ stream: options.stream })
        : new winston.transports.Console({ stderrLevels: [...LOG_LEVELS] }),
    ],
  });
}

/** A logger that drops everything, for tests and tools that must stay quiet. */
export function createSilentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}

/** The fields to log for an error: its message and code, never the object itself. */
export function errorFields(e: unknown): { error: string; code?: string | number } {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' || typeof code === 'number' ? { error: e.message, code } : { error: e.message };
  }
  return { error: String(e) };
}
