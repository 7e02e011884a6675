export {
  createLogger,
  createSilentLogger,
  errorFields,
  LOG_LEVELS,
  type Logger,
  type LoggerOptions,
  type LogLevel,
} from './logger.js';
