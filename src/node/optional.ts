/**
 * The Node entry's optional peer dependencies: Dawn (npm `webgpu`, WebGPU for Node) and sharp (image
 * decoding). A browser app installs neither (npm does not install optional peers); a Node app installs
 * them beside this package (`npm install webgpu-resnet webgpu sharp`). Each is loaded on first use; a
 * missing one is one DependencyError naming the command that installs it.
 */
import { DependencyError } from '../errors.js';

/** The versions this package is tested with (package.json's peerDependencies say the same; a test checks). */
export const PEERS = { webgpu: '0.6.2', sharp: '^0.35.5' } as const;

/** `load()` (an import of `name`), or a DependencyError saying what `name` is needed for and how to install it. */
export async function importPeer<T>(name: keyof typeof PEERS, neededFor: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as { code?: string }).code;
    const missing =
      code === 'ERR_MODULE_NOT_FOUND' ||
      code === 'MODULE_NOT_FOUND' ||
      new RegExp(`Cannot find (module|package) '${name}'`).test((err as Error).message);
    const install = `npm install ${name}@${PEERS[name]}`;
    throw new DependencyError(
      missing
        ? `${neededFor} needs the npm package "${name}", which is not installed: run \`${install}\` (it is an ` +
            `optional peer dependency, so browser apps do not install it)`
        : `${neededFor} needs the npm package "${name}", which is installed but failed to load ` +
            `(${(err as Error).message.split('\n')[0]}); reinstall it: \`${install}\``,
      { cause: err },
    );
  }
}
