// Importing this module registers every backend with lib/engine/backend.ts, in the order 'auto' tries them.
