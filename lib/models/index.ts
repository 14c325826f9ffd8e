export * from './architectures.js';
export { seededRandom } from './builder.js';
export { hardenModel, type HardenOptions, type HardenReport } from './hard.js';
export * from './modern.js';
