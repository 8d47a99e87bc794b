// The tiny default-pipeline project lives in plain JavaScript (tiny-project.mjs) so that the
// benchmarks share it; this module gives the tests its types.
import * as tiny from './tiny-project.mjs';

export const TINY: string[] = tiny.TINY;
export const tinyFlags: () => string[] = tiny.tinyFlags;
export const tinyProject: () => string = tiny.tinyProject;
