export * from './architectures.js';
export { seededRandom } from './builder.js';
