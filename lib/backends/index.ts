// Importing this module registers every backend with lib/engine/backend.ts; 'auto' tries tensorrt first.
import './tensorrt/index.js';
