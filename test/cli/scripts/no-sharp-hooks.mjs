// Module hooks that make `sharp` fail to load, as on a machine whose copy lacks sharp's platform package.
export async function resolve(specifier, context, next) {
  if (specifier === 'sharp') throw new Error("Could not load the \"sharp\" module using the linux-x64 runtime (simulated)");
  return next(specifier, context);
}
