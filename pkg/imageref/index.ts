export { compileImagePattern, type ImagePattern } from './pattern.js';
