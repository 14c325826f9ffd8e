// The benches' command line: `--name value` pairs. arg('models', 'cnn') is the value after --models, or the fallback.
export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
