export { MAX_QUOTED_LENGTH, quoteText, sanitizeText } from './safe-text.js';
