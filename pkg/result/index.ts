export { ok, err, type Result } from './result.js';
