import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ModelFormatError } from '../errors.js';
import type { FileSource } from '../loaders/source.js';

/** Files in a folder on disk. */
export function folderSource(folder: string): FileSource {
  const base = resolve(folder);
  return {
    describe: (path) => join(base, path),
    async read(path, onBytes) {
      const full = join(base, path);
      try {
        const data = await readFile(full);
        onBytes?.(data.length);
        return new Uint8Array(data.buffer, data.byteOffset, data.length);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why =
          code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, not a file' : (err as Error).message;
        throw new ModelFormatError(`${full}: ${why}`, { cause: err });
      }
    },
  };
}

/** Splits a model file path into its folder (the source) and file name; a folder means `model.json` in it. */
export async function splitModelPath(path: string): Promise<{ source: FileSource; file: string }> {
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw new ModelFormatError(`${resolve(path)}: file not found`, { cause: err });
  }
  if (isDir) return { source: folderSource(path), file: 'model.json' };
  return { source: folderSource(dirname(path)), file: path.slice(dirname(path).length).replace(/^[/\\]+/, '') };
}
